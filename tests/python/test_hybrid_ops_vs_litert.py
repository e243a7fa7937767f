"""Hybrid ops (float activations, int8 weights) and int8 FULLY_CONNECTED with
per-channel weights in edgepipe against LiteRT, on every kernel variant.

The models are written with TFLite's schema builder (the ai-edge-litert
wheel's), in the layout TensorFlow's converter and litert-quantizer give them:
  - FULLY_CONNECTED with int8 weights, float bias: symmetric inputs (version
    3), asymmetric_quantize_inputs (version 9), per-channel weights (12);
  - CONV_2D / DEPTHWISE_CONV_2D with per-channel (and per-tensor) int8
    weights and float bias;
  - int8 FULLY_CONNECTED with per-channel weights (int8 in and out).
Inputs are the photos of ../shared/media, weights drawn from a normal
distribution and quantized symmetrically. Hybrid outputs must agree with
LiteRT's within 1 % of the output range (LiteRT runs them through XNNPACK's
own dynamically quantized kernels, which round the inputs' quantization
slightly differently), the int8 FULLY_CONNECTED within one step; every ISA
level this CPU runs is tried (the cap), and the variant that ran is checked.
`edgepipe quantize --mode dynamic` must write hybrid ops (no DEQUANTIZE in
front of them) that LiteRT runs close to the float model.

Without ../shared the test skips, unless EDGEPIPE_REQUIRE_SHARED=1.
"""
import os
import subprocess

import numpy as np
import pytest

edgepipe = pytest.importorskip("edgepipe", reason="build the _edgepipe module and set PYTHONPATH")
litert = pytest.importorskip("ai_edge_litert.interpreter", reason="pip install ai-edge-litert")
schema = pytest.importorskip("ai_edge_litert.schema_py_generated", reason="pip install ai-edge-litert")
flatbuffers = pytest.importorskip("flatbuffers", reason="pip install flatbuffers")
cv2 = pytest.importorskip("cv2")

from tflite_graph_builder import GraphBuilder  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("EDGEPIPE_BUILD_DIR", os.path.join(ROOT, "build"))
CLI = os.path.join(BUILD, "bin", "edgepipe")
MEDIA = os.path.join(os.environ.get("EDGEPIPE_SHARED_DIR", os.path.join(ROOT, "..", "shared")), "media")
PHOTOS = ["bird.bmp", "face.jpg", "grace_hopper.bmp", "parrot.jpg"]
if not os.path.isdir(MEDIA):
    if os.environ.get("EDGEPIPE_REQUIRE_SHARED") == "1":
        raise RuntimeError(f"EDGEPIPE_REQUIRE_SHARED=1 but {MEDIA} is missing")
    pytest.skip(f"{MEDIA} is absent (clone without ../shared)", allow_module_level=True)

TT = schema.TensorType
BO = schema.BuiltinOperator
HOST_ISAS = edgepipe.cpu_info()["isas"]


def photo(h, w, c, name):
    """A photo resized to h x w, its first c channels (tiled), in [-1, 1]."""
    img = cv2.resize(cv2.imread(os.path.join(MEDIA, name), cv2.IMREAD_COLOR), (w, h)).astype(np.float32)
    img = np.concatenate([img] * ((c + 2) // 3), axis=2)[..., :c]
    return (img - 127.5) / 127.5


def symmetric(w, axis):
    """int8 symmetric weights, per channel along axis (None: per tensor)."""
    if axis is None:
        scale = np.array([np.abs(w).max() / 127.0], np.float32)
        return np.clip(np.round(w / scale[0]), -127, 127).astype(np.int8), scale
    reduce = tuple(i for i in range(w.ndim) if i != axis)
    scale = (np.abs(w).max(axis=reduce) / 127.0).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    return np.clip(np.round(w / scale.reshape(shape)), -127, 127).astype(np.int8), scale


class Model:
    """One op, its tensors and buffers."""

    def __init__(self):
        self.tensors, self.buffers = [], [schema.BufferT()]

    def tensor(self, name, shape, ttype, data=None, scale=None, zero=None, axis=0):
        t = schema.TensorT()
        t.name, t.shape, t.type, t.buffer = name, list(shape), ttype, 0
        if data is not None:
            b = schema.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), np.uint8).tolist()
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        if scale is not None:
            q = schema.QuantizationParametersT()
            q.scale = [float(s) for s in np.atleast_1d(scale)]
            q.zeroPoint = [int(z) for z in (np.atleast_1d(zero) if zero is not None else [0] * len(q.scale))]
            q.quantizedDimension = axis
            t.quantization = q
        self.tensors.append(t)
        return len(self.tensors) - 1

    def finish(self, code, version, inputs, output, options_type, options):
        oc = schema.OperatorCodeT()
        oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = code, min(code, 127), version
        op = schema.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = 0, inputs, [output]
        op.builtinOptionsType, op.builtinOptions = options_type, options
        g = schema.SubGraphT()
        g.tensors, g.inputs, g.outputs, g.operators = self.tensors, [inputs[0]], [output], [op]
        m = schema.ModelT()
        m.version, m.operatorCodes, m.subgraphs, m.buffers = 3, [oc], [g], self.buffers
        m.description = "hybrid op test"
        builder = flatbuffers.Builder(1024)
        builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def run_both(path, x, isa):
    ref = litert.Interpreter(model_path=str(path), num_threads=1)
    ref.allocate_tensors()
    ref.set_tensor(ref.get_input_details()[0]["index"], x)
    ref.invoke()
    want = ref.get_tensor(ref.get_output_details()[0]["index"])
    ours = edgepipe.Interpreter(str(path), num_threads=2, isa=isa)
    ours.set_input(0, x)
    ours.invoke()
    return ours, ours.get_output(0), want


def assert_hybrid_close(got, want, what):
    span = max(float(np.abs(want).max()), 1e-3)
    err = float(np.abs(got.astype(np.float64) - want).max())
    assert err <= 0.01 * span, f"{what}: max error {err:.5f} over an output range of {span:.4f}"


def placed(ours, op_name):
    return [p for p in ours.placements() if p["op_name"] == op_name]


FC_FORMS = {  # name: (version, asymmetric_quantize_inputs, per-channel)
    "symmetric_v3": (3, False, False),
    "asymmetric_v9": (9, True, False),
    "per_channel_v12": (12, True, True),
}


@pytest.mark.parametrize("isa", HOST_ISAS)
@pytest.mark.parametrize("form", sorted(FC_FORMS))
def test_hybrid_fully_connected_matches_litert(form, isa, tmp_path):
    version, asymmetric, per_channel = FC_FORMS[form]
    rng = np.random.default_rng(1)
    rows, k, n = 3, 300, 70
    x = np.stack([photo(10, 10, 3, p).reshape(-1)[:k] for p in PHOTOS[:rows]])
    x = np.maximum(x, 0.0) if asymmetric else x  # ReLU outputs, what asymmetric inputs are for
    w, scale = symmetric(rng.normal(0, 0.1, (n, k)).astype(np.float32), 0 if per_channel else None)
    m = Model()
    i = m.tensor("x", [rows, k], TT.FLOAT32)
    wt = m.tensor("w", [n, k], TT.INT8, w, scale)
    b = m.tensor("b", [n], TT.FLOAT32, rng.normal(0, 0.1, n).astype(np.float32))
    o = m.tensor("y", [rows, n], TT.FLOAT32)
    opt = schema.FullyConnectedOptionsT()
    opt.fusedActivationFunction, opt.asymmetricQuantizeInputs = 1, asymmetric
    path = tmp_path / f"fc_{form}.tflite"
    path.write_bytes(m.finish(BO.FULLY_CONNECTED, version, [i, wt, b], o,
                              schema.BuiltinOptions.FullyConnectedOptions, opt))
    ours, got, want = run_both(path, x.astype(np.float32), isa)
    fc = placed(ours, "FULLY_CONNECTED")
    assert fc and fc[0]["backend"] == "own-hybrid" and fc[0]["variant"] in HOST_ISAS, ours.placements()
    assert HOST_ISAS.index(fc[0]["variant"]) <= HOST_ISAS.index(isa)
    assert_hybrid_close(got, want, f"FULLY_CONNECTED {form} isa={isa}")


CONV_FORMS = {  # name: (depthwise, per-channel, stride, activation)
    "conv_per_channel": (False, True, 1, 1),
    "conv_per_tensor_stride2": (False, False, 2, 3),
    "depthwise_per_channel": (True, True, 1, 3),
    "depthwise_stride2": (True, True, 2, 0),
}


@pytest.mark.parametrize("isa", HOST_ISAS)
@pytest.mark.parametrize("form", sorted(CONV_FORMS))
def test_hybrid_conv_matches_litert(form, isa, tmp_path):
    depthwise, per_channel, stride, activation = CONV_FORMS[form]
    rng = np.random.default_rng(2)
    h, c, cout = 24, 8, 8 if depthwise else 16
    x = photo(h, h, c, "grace_hopper.bmp")[None]
    shape = (1, 3, 3, cout) if depthwise else (cout, 3, 3, c)
    axis = 3 if depthwise else 0
    w, scale = symmetric(rng.normal(0, 0.2, shape).astype(np.float32), axis if per_channel else None)
    out = (h + stride - 1) // stride
    m = Model()
    i = m.tensor("x", [1, h, h, c], TT.FLOAT32)
    wt = m.tensor("w", shape, TT.INT8, w, scale, axis=axis)
    b = m.tensor("b", [cout], TT.FLOAT32, rng.normal(0, 0.1, cout).astype(np.float32))
    o = m.tensor("y", [1, out, out, cout], TT.FLOAT32)
    if depthwise:
        opt = schema.DepthwiseConv2DOptionsT()
        opt.depthMultiplier = 1
        code, version, otype = BO.DEPTHWISE_CONV_2D, 6, schema.BuiltinOptions.DepthwiseConv2DOptions
    else:
        opt = schema.Conv2DOptionsT()
        code, version, otype = BO.CONV_2D, 2, schema.BuiltinOptions.Conv2DOptions
    opt.padding, opt.strideW, opt.strideH, opt.fusedActivationFunction = schema.Padding.SAME, stride, stride, activation
    path = tmp_path / f"{form}.tflite"
    path.write_bytes(m.finish(code, version, [i, wt, b], o, otype, opt))
    ours, got, want = run_both(path, x, isa)
    op = placed(ours, "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D")
    assert op and op[0]["backend"] == "own-hybrid", ours.placements()
    assert HOST_ISAS.index(op[0]["variant"]) <= HOST_ISAS.index(isa)
    assert_hybrid_close(got, want, f"{form} isa={isa}")


@pytest.mark.parametrize("isa", HOST_ISAS)
def test_int8_fully_connected_per_channel_matches_litert(isa, tmp_path):
    rng = np.random.default_rng(3)
    k, n = 192, 40
    xf = photo(8, 8, 3, "parrot.jpg").reshape(1, -1)
    in_scale, in_zero = 2.0 / 255, -1
    x = np.clip(np.round(xf / in_scale) + in_zero, -128, 127).astype(np.int8)
    w, scale = symmetric(rng.normal(0, 0.1, (n, k)).astype(np.float32), 0)
    bias = np.round(rng.normal(0, 0.1, n) / (in_scale * scale)).astype(np.int32)
    m = Model()
    i = m.tensor("x", [1, k], TT.INT8, scale=in_scale, zero=in_zero)
    wt = m.tensor("w", [n, k], TT.INT8, w, scale)
    b = m.tensor("b", [n], TT.INT32, bias, in_scale * scale)
    o = m.tensor("y", [1, n], TT.INT8, scale=0.02, zero=3)
    opt = schema.FullyConnectedOptionsT()
    path = tmp_path / "fc_int8_per_channel.tflite"
    path.write_bytes(m.finish(BO.FULLY_CONNECTED, 12, [i, wt, b], o, schema.BuiltinOptions.FullyConnectedOptions, opt))
    ours, got, want = run_both(path, x, isa)
    fc = placed(ours, "FULLY_CONNECTED")
    assert fc and fc[0]["backend"] == "own-hybrid", ours.placements()
    assert HOST_ISAS.index(fc[0]["variant"]) <= HOST_ISAS.index(isa)
    diff = np.abs(got.astype(np.int32) - want.astype(np.int32))
    assert diff.max() <= 1 and np.mean(diff) < 0.05, diff


def fc_heavy_model(rng):
    """[1, 16, 16, 3] -> conv -> FC 768x512 -> FC 512x256 -> softmax: FC-heavy, with a small conv kept float."""
    g = GraphBuilder()
    x = g.input("image", [1, 16, 16, 3])
    c = g.conv2d(x, rng.normal(0, 0.3, (3, 3, 3, 3)), rng.normal(0, 0.1, 3), activation="RELU")
    f = g.reshape(c, [1, -1])
    h = g.fully_connected(f, rng.normal(0, 0.05, (512, 768)), rng.normal(0, 0.1, 512), activation="RELU")
    g.output(g.softmax(g.fully_connected(h, rng.normal(0, 0.05, (256, 512)), rng.normal(0, 0.1, 256))))
    return g.finish()


def test_dynamic_mode_writes_hybrid_ops_litert_runs(tmp_path):
    if not os.path.exists(CLI):
        pytest.skip(f"{CLI} is not built")
    src, dst = tmp_path / "float.tflite", tmp_path / "dynamic.tflite"
    src.write_bytes(fc_heavy_model(np.random.default_rng(4)))
    subprocess.run([CLI, "quantize", str(src), "-o", str(dst), "--mode", "dynamic"], check=True, capture_output=True)
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(dst.read_bytes(), 0))
    codes = [model.operatorCodes[op.opcodeIndex] for op in model.subgraphs[0].operators]
    names = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in codes]
    assert BO.DEQUANTIZE not in names, names  # the FCs read their int8 weights themselves
    tensors = model.subgraphs[0].tensors
    fcs = [op for op, c in zip(model.subgraphs[0].operators, names) if c == BO.FULLY_CONNECTED]
    assert len(fcs) == 2 and all(tensors[op.inputs[1]].type == TT.INT8 for op in fcs)
    assert all(c.version == 12 for c, n in zip(codes, names) if n == BO.FULLY_CONNECTED)
    assert dst.stat().st_size < src.stat().st_size / 3
    for name in PHOTOS:
        x = photo(16, 16, 3, name)[None]
        _, float_out, float_ref = run_both(src, x, None)
        ours, got, want = run_both(dst, x, None)
        assert {p["backend"] for p in placed(ours, "FULLY_CONNECTED")} == {"own-hybrid"}
        assert_hybrid_close(got, want, f"dynamic vs LiteRT on {name}")
        # Close to the float model (softmax probabilities).
        assert np.abs(want - float_ref).max() < 0.02 and np.abs(got - float_out).max() < 0.02
