"""edgepipe: MediaPipe-style perception graphs and a TFLite engine on XNNPACK.

    import edgepipe
    g = edgepipe.Graph.from_file("graphs/face_detection.pbtxt")
    g.observe("detections", lambda value, timestamp_us: print(timestamp_us, value))
    g.run({"input_path": "video.avi"})

Calculators can be written in Python (`edgepipe.Calculator`,
`edgepipe.register_calculator`) and MediaPipe Tasks-style APIs live in
`edgepipe.tasks`. The compiled part is the `_edgepipe` extension; this package
re-exports it. Every error is an `edgepipe.Error` subclass (see
`help(edgepipe.Error)`).
"""
from _edgepipe import *  # noqa: F401,F403
from _edgepipe import (  # noqa: F401
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
