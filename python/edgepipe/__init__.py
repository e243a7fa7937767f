"""edgepipe: MediaPipe-style perception graphs and a TFLite engine on XNNPACK.

The compiled part lives in the `_edgepipe` extension (built into
<build>/python); this package re-exports it.
"""
from _edgepipe import *  # noqa: F401,F403
from _edgepipe import Graph, GraphError, Interpreter  # noqa: F401
