"""Seeing inside a running graph from Python: statistics while it runs, a trace file, stall diagnostics."""
import json
import os
import subprocess

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


CLI = os.path.join(os.environ.get("EDGEPIPE_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build")),
                   "bin", "edgepipe")

# The cloner's data input is its own output fed back: after the last tick nothing can ever
# close that loop, so the graph is not done and makes no progress.
STALLING_LOOP = """
node { calculator: "CountingSourceCalculator" name: "ticks" output_stream: "ticks"
       options { [edgepipe.CountingSourceCalculatorOptions.ext] { num_packets: 5 } } }
node { calculator: "PacketClonerCalculator" name: "cloner" input_stream: "loop" input_stream: "TICK:ticks"
       output_stream: "cloned" input_stream_info { tag_index: ":0" back_edge: true } }
node { calculator: "PassThroughCalculator" name: "echo" input_stream: "cloned" output_stream: "loop" }
"""


def test_cli_stall_timeout_reports_the_waiting_nodes_instead_of_hanging(tmp_path):
    graph = tmp_path / "stall.pbtxt"
    graph.write_text(STALLING_LOOP)
    trace = tmp_path / "trace.json"
    run = subprocess.run([CLI, "run", str(graph), "--stall-timeout", "0.3", "--trace", str(trace)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stderr
    assert "made no progress" in run.stderr and "stall timeout 300 ms" in run.stderr, run.stderr
    assert 'node "cloner" (PacketClonerCalculator, ' in run.stderr, run.stderr
    assert 'stream "loop"' in run.stderr and 'node "echo"' in run.stderr, run.stderr
    stalls = [e for e in json.loads(trace.read_text())["traceEvents"] if e["ph"] == "i" and e["name"] == "stall"]
    assert stalls and 'node \\"cloner\\"' in json.dumps(stalls[0]["args"]["detail"]), stalls
