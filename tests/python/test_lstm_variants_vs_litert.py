"""UNIDIRECTIONAL_SEQUENCE_LSTM variants against LiteRT on synthetic one-op models.

The zoo has one real LSTM (int8, no CIFG, peephole or projection). This builds
small models covering the rest — float32 and int8 (8x8_16), with and without
CIFG, peepholes, projection (hidden zero point != 0), time-major input, cell and
projection clipping — writes them with FlatBuffers' Python object API generated
from our schema subset, and compares two invocations (the state carries over):
int8 bit for bit, float32 within 1e-4 absolute or relative.

Needs flatc (a build dependency), the flatbuffers Python package, ai-edge-litert
and the built _edgepipe module; does not need ../shared.
"""
import importlib
import itertools
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

edgepipe = pytest.importorskip("edgepipe", reason="build the _edgepipe module and set PYTHONPATH")
litert = pytest.importorskip("ai_edge_litert.interpreter", reason="pip install ai-edge-litert")
flatbuffers = pytest.importorskip("flatbuffers", reason="pip install flatbuffers")

SCHEMA = Path(__file__).resolve().parents[2] / "engine" / "schema" / "tflite_subset.fbs"
PACKAGE = "tflite_subset_py"


@pytest.fixture(scope="module")
def fb(tmp_path_factory):
    """The schema's Python object API, generated under a namespace of its own
    (the schema's, edgepipe.engine..., would shadow the edgepipe module)."""
    flatc = shutil.which("flatc")
    assert flatc, "flatc (Debian flatbuffers-compiler, a build dependency) is not on PATH"
    out = tmp_path_factory.mktemp("fbpy")
    schema = out / "schema.fbs"
    schema.write_text(SCHEMA.read_text().replace("namespace edgepipe.engine.tflite_fb;", f"namespace {PACKAGE};"))
    subprocess.run([flatc, "--python", "--gen-object-api", "-o", str(out), str(schema)], check=True)
    sys.path.insert(0, str(out))
    names = ["Model", "SubGraph", "Tensor", "Operator", "OperatorCode", "Buffer", "QuantizationParameters",
             "TensorType", "BuiltinOptions", "UnidirectionalSequenceLSTMOptions"]
    return {n: importlib.import_module(f"{PACKAGE}.{n}") for n in names}


def build_lstm(fb, path, *, integer, cifg, peephole, projection, time_major, clip, seed,
               n_batch=2, max_time=4, n_input=3, n_cell=5):
    n_output = 3 if projection else n_cell
    rng = np.random.default_rng(seed)
    TT = fb["TensorType"].TensorType
    tensors, buffers = [], [fb["Buffer"].BufferT()]

    def add(name, shape, ttype, data=None, scale=None, zero_point=0, variable=False):
        t = fb["Tensor"].TensorT()
        t.name, t.shape, t.type, t.isVariable, t.buffer = name, list(shape), ttype, variable, 0
        if data is not None:
            b = fb["Buffer"].BufferT()
            b.data = list(np.ascontiguousarray(data).tobytes())
            buffers.append(b)
            t.buffer = len(buffers) - 1
        if scale is not None:
            q = fb["QuantizationParameters"].QuantizationParametersT()
            q.scale, q.zeroPoint = [float(scale)], [int(zero_point)]
            t.quantization = q
        tensors.append(t)
        return len(tensors) - 1

    in_shape = (max_time, n_batch, n_input) if time_major else (n_batch, max_time, n_input)
    out_shape = in_shape[:2] + (n_output,)
    s_in, zp_in, s_w, s_out, zp_out, s_hidden, zp_hidden = 1 / 64, 3, 1 / 100, 1 / 120, -2, 1 / 128, -7
    if integer:
        weights = lambda name, shape: add(name, shape, TT.INT8, rng.integers(-127, 128, shape).astype(np.int8), s_w)
        vector = lambda name, n, scale: add(name, (n,), TT.INT32, rng.integers(-3000, 3000, n).astype(np.int32), scale)
        peep = lambda name: add(name, (n_cell,), TT.INT16, rng.integers(-3000, 3000, n_cell).astype(np.int16), 1 / 8000)
    else:
        weights = lambda name, shape: add(name, shape, TT.FLOAT32, rng.uniform(-0.6, 0.6, shape).astype(np.float32))
        vector = lambda name, n, scale: add(name, (n,), TT.FLOAT32, rng.uniform(-0.5, 0.5, n).astype(np.float32))
        peep = lambda name: add(name, (n_cell,), TT.FLOAT32, rng.uniform(-0.5, 0.5, n_cell).astype(np.float32))
    inputs = [-1] * 24
    inputs[0] = add("input", in_shape, TT.INT8 if integer else TT.FLOAT32, scale=s_in if integer else None,
                    zero_point=zp_in)
    for gate, k in zip("ifco", range(4)):
        if gate == "i" and cifg:
            continue
        inputs[1 + k] = weights(f"input_to_{gate}", (n_cell, n_input))
        inputs[5 + k] = weights(f"recurrent_to_{gate}", (n_cell, n_output))
        inputs[12 + k] = vector(f"{gate}_bias", n_cell, s_in * s_w)
        if peephole and gate != "c":
            inputs[9 + "ifo".index(gate)] = peep(f"cell_to_{gate}")
    if projection:
        inputs[16] = weights("projection", (n_output, n_cell))
        inputs[17] = vector("projection_bias", n_output, s_hidden * s_w)
    state_type, cell_type = (TT.INT8, TT.INT16) if integer else (TT.FLOAT32, TT.FLOAT32)
    inputs[18] = add("output_state", (n_batch, n_output), state_type, scale=s_out if integer else None,
                     zero_point=zp_out, variable=True)
    inputs[19] = add("cell_state", (n_batch, n_cell), cell_type, scale=2.0 ** -11 if integer else None,
                     variable=True)
    intermediates = None
    if integer:
        intermediates = [add(f"gate_{k}", (0,), TT.FLOAT32) for k in range(4)]
        # The hidden state: the output itself without projection, its own scale before one.
        intermediates.append(add("hidden", (0,), TT.INT8, scale=s_hidden if projection else s_out,
                                 zero_point=zp_hidden if projection else zp_out))
    output = add("output", out_shape, TT.INT8 if integer else TT.FLOAT32, scale=s_out if integer else None,
                 zero_point=zp_out)

    options = fb["UnidirectionalSequenceLSTMOptions"].UnidirectionalSequenceLSTMOptionsT()
    options.fusedActivationFunction = 4  # TANH
    options.cellClip = (1.5 if integer else 0.9) if clip else 0.0
    options.projClip = 0.3 if clip and projection else 0.0
    options.timeMajor = time_major
    op = fb["Operator"].OperatorT()
    op.opcodeIndex, op.inputs, op.outputs, op.intermediates = 0, inputs, [output], intermediates
    op.builtinOptionsType = fb["BuiltinOptions"].BuiltinOptions.UnidirectionalSequenceLSTMOptions
    op.builtinOptions = options
    graph = fb["SubGraph"].SubGraphT()
    graph.tensors, graph.inputs, graph.outputs, graph.operators = tensors, [inputs[0]], [output], [op]
    code = fb["OperatorCode"].OperatorCodeT()
    code.deprecatedBuiltinCode = code.builtinCode = 44  # UNIDIRECTIONAL_SEQUENCE_LSTM
    model = fb["Model"].ModelT()
    model.version, model.operatorCodes, model.subgraphs, model.buffers = 3, [code], [graph], buffers
    builder = flatbuffers.Builder(4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(builder.Output())


VARIANTS = list(itertools.product([False, True], repeat=6))


@pytest.mark.parametrize("integer,cifg,peephole,projection,time_major,clip", VARIANTS,
                         ids=["-".join(n for n, on in zip(["int8", "cifg", "peephole", "projection", "time_major",
                                                           "clip"], v) if on) or "float" for v in VARIANTS])
def test_lstm_variant_matches_litert(fb, tmp_path, integer, cifg, peephole, projection, time_major, clip):
    path = tmp_path / "lstm.tflite"
    seed = int("".join(str(int(v)) for v in (integer, cifg, peephole, projection, time_major, clip)), 2)
    build_lstm(fb, path, integer=integer, cifg=cifg, peephole=peephole, projection=projection,
               time_major=time_major, clip=clip, seed=seed)
    ref = litert.Interpreter(model_path=str(path))
    ref.allocate_tensors()
    ours = edgepipe.Interpreter(str(path))
    assert [p["backend"] for p in ours.placements()] == ["own-kernels"]
    detail = ref.get_input_details()[0]
    rng = np.random.default_rng(seed)
    for call in range(2):
        shape = tuple(int(d) for d in detail["shape"])
        x = (rng.integers(-128, 128, shape).astype(np.int8) if integer
             else rng.uniform(-1.5, 1.5, shape).astype(np.float32))
        ref.set_tensor(detail["index"], x)
        ref.invoke()
        ours.set_input(0, x)
        ours.invoke()
        expected = ref.get_tensor(ref.get_output_details()[0]["index"])
        got = ours.get_output(0)
        if integer:
            np.testing.assert_array_equal(got, expected, err_msg=f"invocation {call}")
        else:
            diff = np.abs(got.astype(np.float64) - expected)
            assert ((diff <= 1e-4) | (diff <= 1e-4 * np.abs(expected))).all(), f"invocation {call}: max {diff.max()}"
