"""Calculators written in Python inside C++ graphs (issue 13, part 4): contract
and lifecycle, zero-copy images and tensors (buffer addresses compared),
exceptions as errors naming the node, and no deadlock or crash when a
calculator adds packets back into its graph, waits for it, or drops it, or
when a running graph is destroyed. The cases that could hang run in a child
interpreter under a timeout; the whole module also runs under faulthandler's
watchdog.

Run: PYTHONPATH=<src>/python:<build>/python pytest tests/python/test_python_calculators.py
"""
import faulthandler

import numpy as np
import pytest

edgepipe = pytest.importorskip("edgepipe", reason="build the _edgepipe module and set PYTHONPATH")
from child_process import run_child  # noqa: E402

TIMEOUT_S = 30


@pytest.fixture(autouse=True)
def watchdog():
    """A hang dumps every thread's stack and ends the run instead of blocking the suite."""
    faulthandler.dump_traceback_later(TIMEOUT_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def address(array):
    return array.__array_interface__["data"][0]


@edgepipe.calculator("PyScale")
class Scale(edgepipe.Calculator):
    """Multiplies numbers by FACTOR (default 2)."""

    inputs = {"IN": "int"}
    outputs = {"OUT": "int"}
    input_side_packets = {"FACTOR": "int?"}
    opened = closed = 0

    def open(self, ctx):
        self.factor = ctx.side_packets.get("FACTOR", 2)
        type(self).opened += 1

    def process(self, ctx):
        return {"OUT": ctx.inputs["IN"] * self.factor}

    def close(self, ctx):
        type(self).closed += 1


class Echo:
    """Passes any value on, remembering what it saw (class attribute `seen`)."""

    inputs = ["IN"]
    outputs = ["OUT"]
    seen = []

    def process(self, ctx):
        type(self).seen.append(ctx.inputs["IN"])
        ctx.output("OUT", ctx.inputs["IN"])


edgepipe.register_calculator("PyEcho", Echo)

ECHO = ('input_stream: "in" '
        'node { calculator: "PyEcho" input_stream: "IN:in" output_stream: "OUT:out" }')


def test_python_calculator_between_cpp_calculators():
    graph = edgepipe.Graph("""
        node { calculator: "CountingSourceCalculator" output_stream: "n" input_side_packet: "NUM_PACKETS:count" }
        node { calculator: "PyScale" input_stream: "IN:n" output_stream: "OUT:scaled" input_side_packet: "FACTOR:f" }
        node { calculator: "PassThroughCalculator" input_stream: "scaled" output_stream: "out" }
    """)
    received = []
    graph.observe("out", lambda value, ts: received.append((ts, value)))
    before = (Scale.opened, Scale.closed)
    graph.run({"count": 5, "f": 3})
    assert received == [(i, 3 * i) for i in range(5)]
    assert (Scale.opened, Scale.closed) == (before[0] + 1, before[1] + 1)
    row = next(row for row in graph.stats() if row["calculator"] == "PyScale")
    assert row["process_calls"] == 5


def test_contract_is_validated_like_a_cpp_one():
    with pytest.raises(edgepipe.GraphError, match="SCALE"):
        edgepipe.Graph('input_stream: "a" node { calculator: "PyScale" input_stream: "SCALE:a" output_stream: "OUT:b" }')
    with pytest.raises(edgepipe.AlreadyExistsError):
        edgepipe.register_calculator("PassThroughCalculator", Echo)
    with pytest.raises(edgepipe.InvalidArgumentError, match="unknown port kind"):
        edgepipe.register_calculator("PyBadKind", type("Bad", (), {"inputs": {"IN": "matrix"}, "process": None}))


def test_images_cross_without_copies():
    graph = edgepipe.Graph(ECHO)
    out = []
    graph.observe("out", lambda value, ts: out.append(value))
    graph.start()
    frame = np.zeros((48, 64, 3), dtype=np.uint8)
    frame[10, 20] = (1, 2, 3)
    Echo.seen.clear()
    graph.add("in", frame, timestamp_us=0)
    # A view with a row stride (every other row): still no copy.
    graph.add("in", frame[::2], timestamp_us=1)
    graph.close_all()
    graph.wait_until_done()
    assert address(Echo.seen[0]) == address(frame) == address(out[0])
    assert address(Echo.seen[1]) == address(frame) == address(out[1])
    assert Echo.seen[1].shape == (24, 64, 3) and tuple(out[0][10, 20]) == (1, 2, 3)
    assert not out[0].flags.writeable  # packets are immutable


def aligned_float32(shape, alignment=64):
    raw = np.empty(int(np.prod(shape)) * 4 + alignment, dtype=np.uint8)
    offset = (-address(raw)) % alignment
    return raw[offset:offset + int(np.prod(shape)) * 4].view(np.float32).reshape(shape)


def test_tensors_cross_without_copies_when_aligned():
    edgepipe.register_calculator("PyTensorEcho", type("TensorEcho", (), {
        "inputs": {"IN": "tensor"}, "outputs": {"OUT": "tensor"},
        "process": lambda self, ctx: {"OUT": ctx.inputs["IN"]}}))
    graph = edgepipe.Graph('input_stream: "in" '
                           'node { calculator: "PyTensorEcho" input_stream: "IN:in" output_stream: "OUT:out" }')
    out = []
    graph.observe("out", lambda value, ts: out.append(value))
    graph.start()
    aligned = aligned_float32((2, 3, 4))
    aligned[:] = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    unaligned = np.arange(25, dtype=np.float32)[1:].reshape(2, 3, 4)  # 4 bytes off the allocation
    graph.add("in", aligned, timestamp_us=0)
    graph.add("in", unaligned, timestamp_us=1)
    graph.close_all()
    graph.wait_until_done()
    assert address(out[0]) == address(aligned)
    assert out[0].dtype == np.float32 and out[0].shape == (2, 3, 4)
    assert np.array_equal(out[0], aligned)
    assert address(out[1]) != address(unaligned) and np.array_equal(out[1], unaligned)  # copied


def test_cpp_tensors_reach_python_as_views():
    graph = edgepipe.Graph("""
        input_stream: "frames"
        node {
          calculator: "ImageToTensorCalculator" input_stream: "IMAGE:frames" output_stream: "TENSOR:tensor"
          options { [edgepipe.ImageToTensorCalculatorOptions.ext] { output_width: 8 output_height: 4 } }
        }
        node { calculator: "PyEcho" input_stream: "IN:tensor" output_stream: "OUT:out" }
    """)
    out = []
    graph.observe("out", lambda value, ts: out.append(value))
    graph.start()
    Echo.seen.clear()
    graph.add("frames", np.full((4, 8, 3), 255, dtype=np.uint8), timestamp_us=0)
    graph.close_all()
    graph.wait_until_done()
    assert Echo.seen[0].shape == (1, 4, 8, 3) and Echo.seen[0].dtype == np.float32
    assert address(Echo.seen[0]) == address(out[0])  # one C++ buffer, seen twice


def test_an_exception_in_process_fails_the_run_naming_the_node():
    class Fails:
        inputs = ["IN"]

        def process(self, ctx):
            raise ValueError(f"bad value {ctx.inputs['IN']}")

    edgepipe.register_calculator("PyFails", Fails)
    graph = edgepipe.Graph('input_stream: "in" node { name: "checker" calculator: "PyFails" input_stream: "IN:in" }')
    graph.start()
    graph.add("in", 7, timestamp_us=0)
    graph.close_all()
    with pytest.raises(edgepipe.Error) as raised:
        graph.wait_until_done()
    message = str(raised.value)
    assert 'node "checker"' in message and "PyFails" in message and "ValueError: bad value 7" in message


def test_undeclared_output_is_an_error():
    edgepipe.register_calculator("PyWrongTag", type("WrongTag", (), {
        "inputs": ["IN"], "outputs": ["OUT"], "process": lambda self, ctx: {"OTHER": 1}}))
    graph = edgepipe.Graph('input_stream: "in" node { calculator: "PyWrongTag" input_stream: "IN:in" '
                           'output_stream: "OUT:out" }')
    graph.start()
    graph.add("in", 1, timestamp_us=0)
    graph.close_all()
    with pytest.raises(edgepipe.Error, match='output "OTHER" is not declared'):
        graph.wait_until_done()


def test_python_source_stops_with_stop_iteration():
    class Countdown:
        outputs = {"N": "int"}

        def open(self, ctx):
            self.left = 3

        def process(self, ctx):
            if self.left == 0:
                raise StopIteration
            self.left -= 1
            ctx.output("N", self.left, timestamp_us=10 - self.left)

    edgepipe.register_calculator("PyCountdown", Countdown)
    graph = edgepipe.Graph('node { calculator: "PyCountdown" output_stream: "N:n" }')
    got = []
    graph.observe("n", lambda value, ts: got.append((ts, value)))
    graph.run()
    assert got == [(8, 2), (9, 1), (10, 0)]


def test_calculator_adding_packets_back_into_its_graph():
    run_child("""
        GRAPH = None

        class Feedback:
            inputs = ["IN"]
            outputs = ["OUT"]

            def process(self, ctx):
                value = ctx.inputs["IN"]
                if value < 5:  # back into the graph's own input, without blocking
                    GRAPH.add("in", value + 1, timestamp_us=ctx.timestamp_us + 1, block=False)
                try:
                    GRAPH.wait_until_idle()
                except edgepipe.DeadlockError:
                    ctx.output("OUT", value)

        edgepipe.register_calculator("Feedback", Feedback)
        GRAPH = edgepipe.Graph('input_stream: "in" node { calculator: "Feedback" input_stream: "IN:in" '
                               'output_stream: "OUT:out" }')
        got = []
        GRAPH.observe("out", lambda value, ts: got.append(value))
        GRAPH.start()
        GRAPH.add("in", 0, timestamp_us=0)
        GRAPH.wait_until_idle()
        GRAPH.close_all()
        GRAPH.wait_until_done()
        print(got)
    """, ["[0, 1, 2, 3, 4, 5]"])


def test_destroying_a_running_graph_with_a_python_source():
    run_child("""
        started = threading.Event()

        class Endless:
            outputs = {"N": "int"}

            def open(self, ctx):
                self.n = 0

            def process(self, ctx):
                self.n += 1
                started.set()
                ctx.output("N", self.n, timestamp_us=self.n)

        edgepipe.register_calculator("Endless", Endless)
        g = edgepipe.Graph('node { calculator: "Endless" output_stream: "N:n" } '
                           'node { calculator: "PassThroughCalculator" input_stream: "n" output_stream: "m" }')
        g.start()
        started.wait()
        del g
        print("destroyed")
    """, ["destroyed"])


def test_dropping_the_last_reference_inside_process():
    run_child("""
        HOLDER = {}
        done = threading.Event()

        class Dropper:
            inputs = ["IN"]

            def process(self, ctx):
                HOLDER.clear()  # the graph's last reference, from its own calculator
                done.set()

        edgepipe.register_calculator("Dropper", Dropper)
        HOLDER["g"] = edgepipe.Graph('input_stream: "in" node { calculator: "Dropper" input_stream: "IN:in" }')
        HOLDER["g"].start()
        HOLDER["g"].add("in", 1, timestamp_us=0)
        done.wait()
        print("dropped")
    """, ["dropped"])


def test_blocking_add_into_a_full_queue_from_process_raises():
    run_child("""
        GRAPH = None
        results = []

        class Flood:
            inputs = ["IN"]

            def process(self, ctx):
                if ctx.inputs["IN"] != 0:
                    return
                try:
                    for i in range(1, 100):
                        GRAPH.add("in", i, timestamp_us=i)  # block=True; the queue holds 2
                except edgepipe.DeadlockError as error:
                    results.append("deadlock refused")

        edgepipe.register_calculator("Flood", Flood)
        GRAPH = edgepipe.Graph('max_queue_size: 2 input_stream: "in" '
                               'node { calculator: "Flood" input_stream: "IN:in" }')
        GRAPH.start()
        GRAPH.add("in", 0, timestamp_us=0)
        GRAPH.wait_until_idle()
        GRAPH.close_all()
        GRAPH.wait_until_done()
        print(results)
    """, ["['deadlock refused']"])
