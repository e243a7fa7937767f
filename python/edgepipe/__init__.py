"""edgepipe: MediaPipe-style perception graphs and a TFLite engine on XNNPACK.

    import edgepipe
    g = edgepipe.Graph.from_file("graphs/face_detection.pbtxt")
    g.observe("detections", lambda value, timestamp_us: print(timestamp_us, value))
    g.run({"input_path": "video.avi"})

Calculators can be written in Python (`edgepipe.Calculator`,
`edgepipe.register_calculator`) and MediaPipe Tasks-style APIs live in
`edgepipe.tasks`. The compiled part is the `_edgepipe` extension; this package
re-exports it. It sits inside the package when installed (`pip install .`) and
at the top of build/python in a build tree (PYTHONPATH=python:build/python).
Every error is an `edgepipe.Error` subclass (see `help(edgepipe.Error)`).
"""
import importlib as _importlib
import sys as _sys

try:
    _native = _importlib.import_module(__name__ + "._edgepipe")
except ModuleNotFoundError as _error:  # not installed: the build tree's top-level module
    if _error.name != __name__ + "._edgepipe":
        raise
    import _edgepipe as _native
# One module object under both names, so `from _edgepipe import ...` below and
# pickled references agree whichever way it was found.
_sys.modules.setdefault("_edgepipe", _native)

from _edgepipe import *  # noqa: F401,F403,E402
from _edgepipe import (  # noqa: F401,E402
    AlreadyExistsError,
    CalculatorContext,
    CancelledError,
    DataLossError,
    DeadlockError,
    Error,
    FailedPreconditionError,
    Graph,
    GraphError,
    InternalError,
    Interpreter,
    InvalidArgumentError,
    NotFoundError,
    OutOfRangeError,
    UnavailableError,
    UnimplementedError,
    UnknownError,
    adapt_graph_config,
    register_calculator,
)
from edgepipe._calculator import Calculator, calculator  # noqa: F401
from edgepipe._paths import graph_path  # noqa: F401
from edgepipe import video  # noqa: F401,E402
