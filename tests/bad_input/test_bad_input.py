"""Bad input across the CLI: models, graphs and arguments a hostile but
realistic user gives `edgepipe`. Every case is generated here (no committed
binaries) and must end with: no signal, no timeout, a non-zero exit code, and
an error message naming the thing (file, node, option, op, tensor) that is
wrong — never a silent success, never an abort or a hang (issue 14).

Run: pytest tests/bad_input (EDGEPIPE_CLI or EDGEPIPE_BUILD_DIR locate the
CLI; ctest runs it as `bad_input`).
"""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("EDGEPIPE_SHARED_DIR", ROOT.parent / "shared"))
BUILD = Path(os.environ.get("EDGEPIPE_BUILD_DIR", ROOT / "build"))
CLI = Path(os.environ.get("EDGEPIPE_CLI", BUILD / "bin" / "edgepipe")).resolve()
VIDEO = SHARED / "media" / "vtest.avi"
MODEL = SHARED / "models" / "mobilenet_v1_0.25_128_quant.tflite"
IMAGE = SHARED / "media" / "parrot.jpg"
TIMEOUT_S = 120

if not CLI.is_file():
    pytest.skip(f"{CLI} is not built (set EDGEPIPE_CLI or EDGEPIPE_BUILD_DIR)", allow_module_level=True)


def require_shared(*paths):
    for path in paths:
        if not path.exists():
            if os.environ.get("EDGEPIPE_REQUIRE_SHARED") == "1":
                raise RuntimeError(f"EDGEPIPE_REQUIRE_SHARED=1 but {path} is missing")
            pytest.skip(f"{path} is absent (clone without ../shared)")


def run_cli(args, cwd):
    try:
        done = subprocess.run([str(CLI), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                              errors="replace", timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"edgepipe {' '.join(map(str, args))} hung (> {TIMEOUT_S} s)")
    return done


def assert_clear_error(done, words):
    message = done.stderr + done.stdout
    assert done.returncode >= 0, f"killed by signal {-done.returncode}:\n{message[-2000:]}"
    assert done.returncode != 0, f"accepted silently (exit 0):\n{message[-2000:]}"
    assert done.returncode < 128, f"exit {done.returncode} (a crash?):\n{message[-2000:]}"
    for word in words:
        assert word.lower() in message.lower(), f"message does not name {word!r}:\n{message[-2000:]}"
    assert len(message) < 16384, f"message of {len(message)} bytes: long values must be elided"


# ---- models -----------------------------------------------------------------------------------

bad_models = pytest.importorskip("bad_models", reason="needs ai-edge-litert's schema and flatbuffers")


@pytest.mark.parametrize("name", sorted(bad_models.BAD_MODELS))
def test_bad_model_is_refused_naming_op_and_tensor(name, tmp_path):
    build, words = bad_models.BAD_MODELS[name]
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(build())
    require_shared(IMAGE)
    for command in (["inspect", path], ["infer", path, "--input", IMAGE]):
        assert_clear_error(run_cli(command, tmp_path), words)


# ---- graphs -----------------------------------------------------------------------------------

SOURCE = """node {
  calculator: "VideoFileSourceCalculator"
  input_side_packet: "INPUT_PATH:input_path"
  input_side_packet: "MAX_FRAMES:max_frames"
  output_stream: "IMAGE:frames"
}
"""
VIDEO_WRITER = """node {
  calculator: "VideoWriterCalculator"
  input_stream: "IMAGE:%s"
  input_side_packet: "OUTPUT_PATH:output_path"
}
"""
IMAGE_WRITER = """node {
  calculator: "ImageWriterCalculator"
  input_stream: "IMAGE:%s"
  input_side_packet: "OUTPUT_PATH:output_path"
}
"""
COPY_GRAPH = SOURCE + VIDEO_WRITER % "frames"


def node(calculator, options_ext, options, inputs="frames", output="out"):
    return f"""node {{
  name: "bad_{calculator}"
  calculator: "{calculator}"
  input_stream: "{inputs}"
  output_stream: "{output}"
  options {{ [edgepipe.{options_ext}.ext] {{ {options} }} }}
}}
"""


RESIZE_HUGE = SOURCE + """node {
  name: "huge_resize"
  calculator: "ImageResizeCalculator"
  input_stream: "IMAGE:frames"
  output_stream: "IMAGE:big"
  options { [edgepipe.ImageResizeCalculatorOptions.ext] { width: 100000 height: 100000 } }
}
""" + VIDEO_WRITER % "big"
RESAMPLER_FAST = SOURCE + """node {
  calculator: "PacketResamplerCalculator"
  input_stream: "DATA:frames"
  output_stream: "DATA:fast"
  options { [edgepipe.PacketResamplerCalculatorOptions.ext] { frame_rate: 1e9 } }
}
""" + IMAGE_WRITER % "fast"
THINNER_BACKWARDS = SOURCE + node("PacketThinnerCalculator", "PacketThinnerCalculatorOptions",
                                  "period_us: 1000 start_time: 5000000 end_time: 1000") + VIDEO_WRITER % "out"
HUGE_FOURCC = SOURCE + """node {
  calculator: "VideoWriterCalculator"
  input_stream: "IMAGE:frames"
  input_side_packet: "OUTPUT_PATH:output_path"
  options { [edgepipe.VideoWriterCalculatorOptions.ext] { fourcc: "%s" } }
}
""" % ("X" * 10_000_000)
UNKNOWN_CALCULATOR = SOURCE + 'node { calculator: "NoSuchCalculator" input_stream: "frames" }\n'

# id -> (files to write {name: text or None for a directory}, argv, words the error must name)
GRAPH_CASES = {
    "graph_is_directory": ({"graph.pbtxt": None}, ["run", "graph.pbtxt"], ["graph.pbtxt", "directory"]),
    "graph_empty": ({"graph.pbtxt": ""}, ["run", "graph.pbtxt"], ["graph.pbtxt", "no nodes"]),
    "graph_comments_only": ({"graph.pbtxt": "# nothing\n# here\n"}, ["run", "graph.pbtxt"], ["graph.pbtxt", "no nodes"]),
    "graph_missing": ({}, ["run", "absent.pbtxt"], ["absent.pbtxt", "No such file"]),
    "graph_syntax": ({"graph.pbtxt": "node { calculator: \n"}, ["run", "graph.pbtxt"], ["graph.pbtxt:2"]),
    "unknown_calculator": ({"graph.pbtxt": UNKNOWN_CALCULATOR}, ["run", "graph.pbtxt", "-i", VIDEO], ["NoSuchCalculator"]),
    "side_max_frames_negative": ({"graph.pbtxt": COPY_GRAPH},
                                 ["run", "graph.pbtxt", "-i", VIDEO, "-o", "out.avi", "--side", "max_frames=-3"],
                                 ["max_frames", "-3"]),
    "flag_max_frames_negative": ({"graph.pbtxt": COPY_GRAPH},
                                 ["run", "graph.pbtxt", "-i", VIDEO, "-o", "out.avi", "--max-frames", "-3"],
                                 ["--max-frames", "at least 1"]),
    "side_without_value": ({"graph.pbtxt": COPY_GRAPH}, ["run", "graph.pbtxt", "-i", VIDEO, "--side", "max_frames"],
                           ["NAME=VALUE"]),
    "side_nobody_reads": ({"graph.pbtxt": COPY_GRAPH}, ["run", "graph.pbtxt", "-i", VIDEO, "--side", "colour=red"],
                          ["colour", "no node"]),
    "resize_100000": ({"graph.pbtxt": RESIZE_HUGE}, ["run", "graph.pbtxt", "-i", VIDEO, "-o", "out.avi"],
                      ["huge_resize", "100000x100000"]),
    "resampler_1e9": ({"graph.pbtxt": RESAMPLER_FAST},
                      ["run", "graph.pbtxt", "-i", VIDEO, "-o", "f_{index}.jpg", "--max-frames", "3"],
                      ["PacketResamplerCalculator", "frame_rate", "1e+09"]),
    "thinner_end_before_start": ({"graph.pbtxt": THINNER_BACKWARDS},
                                 ["run", "graph.pbtxt", "-i", VIDEO, "-o", "out.avi"],
                                 ["bad_PacketThinnerCalculator", "end_time", "start_time"]),
    "option_value_10MB": ({"graph.pbtxt": HUGE_FOURCC}, ["run", "graph.pbtxt", "-i", VIDEO, "-o", "out.avi"],
                          ["fourcc", "bytes elided"]),
    "output_is_a_directory": ({"graph.pbtxt": COPY_GRAPH, "outdir": None},
                              ["run", "graph.pbtxt", "-i", VIDEO, "-o", "outdir"], ["outdir", "directory"]),
    "output_in_missing_directory": ({"graph.pbtxt": COPY_GRAPH},
                                    ["run", "graph.pbtxt", "-i", VIDEO, "-o", "nowhere/out.avi"], ["nowhere"]),
    "output_under_a_file": ({"graph.pbtxt": COPY_GRAPH, "plain": "x"},
                            ["run", "graph.pbtxt", "-i", VIDEO, "-o", "plain/out.avi"], ["plain/out.avi"]),
    "input_missing": ({"graph.pbtxt": COPY_GRAPH}, ["run", "graph.pbtxt", "-i", "absent.avi", "-o", "out.avi"],
                      ["absent.avi"]),
    "input_not_a_video": ({"graph.pbtxt": COPY_GRAPH, "fake.avi": "not a video\n"},
                          ["run", "graph.pbtxt", "-i", "fake.avi", "-o", "out.avi"], ["fake.avi"]),
}


@pytest.mark.parametrize("case", sorted(GRAPH_CASES))
def test_bad_graph_or_run_argument_is_refused(case, tmp_path):
    require_shared(VIDEO)
    files, argv, words = GRAPH_CASES[case]
    for name, text in files.items():
        (tmp_path / name).mkdir() if text is None else (tmp_path / name).write_text(text)
    assert_clear_error(run_cli(argv, tmp_path), words)
    if case == "resampler_1e9":
        assert not list(tmp_path.glob("f_*.jpg")), "frames were written by a refused resampler"


def test_output_that_is_the_input_is_refused_and_input_kept(tmp_path):
    require_shared(VIDEO)
    video = tmp_path / "clip.avi"
    video.write_bytes(VIDEO.read_bytes())
    (tmp_path / "graph.pbtxt").write_text(COPY_GRAPH)
    (tmp_path / "link.avi").symlink_to(video)
    for output in ("clip.avi", "link.avi", "./clip.avi"):
        assert_clear_error(run_cli(["run", "graph.pbtxt", "-i", "clip.avi", "-o", output], tmp_path),
                           ["output_path", "clip.avi", "input"])
    assert video.read_bytes() == VIDEO.read_bytes()


# ---- arguments of infer -----------------------------------------------------------------------

INFER_CASES = {
    "top_zero": (["--top", "0"], ["--top", "at least 1"]),
    "top_negative": (["--top", "-5"], ["--top", "at least 1"]),
    "labels_directory": (["--labels", "."], ["labels", "directory"]),
    "labels_missing": (["--labels", "absent.txt"], ["absent.txt"]),
    "threads_absurd": (["--threads", "100000"], ["100000", "thread"]),
    "threads_zero": (["--threads", "0"], ["--threads", "at least 1"]),
}


@pytest.mark.parametrize("case", sorted(INFER_CASES))
def test_bad_infer_argument_is_refused(case, tmp_path):
    require_shared(MODEL)
    extra, words = INFER_CASES[case]
    require_shared(IMAGE)
    assert_clear_error(run_cli(["infer", MODEL, "--input", IMAGE, *extra], tmp_path), words)


def test_infer_input_image_missing(tmp_path):
    require_shared(MODEL)
    assert_clear_error(run_cli(["infer", MODEL, "--input", "absent.png"], tmp_path), ["absent.png"])


def test_model_missing_or_directory(tmp_path):
    require_shared(IMAGE)
    assert_clear_error(run_cli(["infer", "absent.tflite", "--input", IMAGE], tmp_path), ["absent.tflite"])
    assert_clear_error(run_cli(["infer", ".", "--input", IMAGE], tmp_path), ["'.'"])
