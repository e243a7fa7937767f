"""Seeing inside a running graph from Python: statistics while it runs, a trace file, stall diagnostics."""
import json

import pytest

edgepipe = pytest.importorskip("edgepipe", reason="build the _edgepipe module and set PYTHONPATH")

PASS = """
    input_stream: "in"
    node { calculator: "PassThroughCalculator" name: "first" input_stream: "in" output_stream: "mid" }
    node { calculator: "PassThroughCalculator" name: "second" input_stream: "mid" output_stream: "out" }
"""


def test_statistics_are_read_while_the_graph_runs():
    graph = edgepipe.Graph(PASS)
    graph.enable_statistics()
    graph.start({})
    for ts in range(20):
        graph.add("in", ts, ts)
    graph.wait_until_idle()
    nodes = {row["node"]: row for row in graph.stats()}
    assert nodes["first"]["process_calls"] == 20
    assert nodes["second"]["packets_in"] == 20
    assert nodes["first"]["max_us"] >= nodes["first"]["p50_us"] >= 0
    streams = {row["stream"]: row for row in graph.stream_stats()}
    assert streams["mid"]["packets"] == 20 and streams["mid"]["packets_per_second"] > 0
    graph.close_all()
    graph.wait_until_done()


def test_trace_file_has_a_span_per_process_call(tmp_path):
    path = tmp_path / "trace.json"
    graph = edgepipe.Graph(PASS)
    graph.enable_trace(str(path))
    graph.start({})
    for ts in range(5):
        graph.add("in", ts, ts * 100)
    graph.close_all()
    graph.wait_until_done()
    events = json.loads(path.read_text())["traceEvents"]
    spans = [e for e in events if e["ph"] == "X" and e["cat"] == "Process"]
    assert sorted((e["name"], e["args"]["timestamp"]) for e in spans) == sorted(
        (name, ts * 100) for name in ("first", "second") for ts in range(5))
    arrows_out = {e["id"] for e in events if e["ph"] == "s"}
    arrows_in = {e["id"] for e in events if e["ph"] == "f"}
    assert len(arrows_out) == 5 and arrows_out == arrows_in


def test_a_stalled_graph_fails_naming_the_node_and_the_stream():
    # The gate waits for ALLOW at timestamp 3, which never comes: no packet, no bound.
    graph = edgepipe.Graph("""
        input_stream: "frames"
        input_stream: "allow"
        node { calculator: "GateCalculator" name: "gate" input_stream: "frames" input_stream: "ALLOW:allow"
               output_stream: "gated" }
    """)
    graph.set_stall_timeout(0.2)
    graph.start({})
    graph.add("frames", 1, 3)
    with pytest.raises(edgepipe.DeadlockError) as error:
        graph.wait_until_done()
    message = str(error.value)
    assert 'node "gate"' in message
    assert 'waits for input ALLOW (stream "allow") to pass timestamp 3' in message
