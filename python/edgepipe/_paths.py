"""Where the ready graphs (graphs/*.pbtxt) are."""
import os

_HERE = os.path.dirname(os.path.abspath(__file__))


def graphs_dir():
    """The ready graphs' directory: $EDGEPIPE_GRAPHS_DIR, the package's own copy, or the source tree's."""
    candidates = [os.environ.get("EDGEPIPE_GRAPHS_DIR", ""),
                  os.path.join(_HERE, "graphs"),
                  os.path.join(_HERE, "..", "..", "graphs")]
    for candidate in candidates:
        if candidate and os.path.isdir(candidate):
            return os.path.normpath(candidate)
    raise FileNotFoundError("edgepipe's ready graphs were not found; set EDGEPIPE_GRAPHS_DIR")


def graph_path(name):
    """The path of ready graph `name` (e.g. "face_detection_video")."""
    path = os.path.join(graphs_dir(), name if name.endswith(".pbtxt") else name + ".pbtxt")
    if not os.path.exists(path):
        raise FileNotFoundError(f"no ready graph {name} in {graphs_dir()}")
    return path
