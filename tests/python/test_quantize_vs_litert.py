"""`edgepipe quantize` on small float models against LiteRT.

The models are written with TFLite's schema builder (tflite_graph_builder.py)
and cover CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, CONCATENATION,
AVERAGE/MAX_POOL_2D, RESIZE_BILINEAR, RESHAPE, SOFTMAX and LOGISTIC. Each is
quantized in every mode, calibrated on the photos of ../shared/media; then
  - LiteRT loads the output and its results match edgepipe's engine
    (float modes to 1e-4, int8 modes to one quantization step),
  - the quantized model stays close to the float one on real inputs (fp16 and
    dynamic to 1 %, int8 within a few output quantization steps),
  - the report says what was done, sizes shrink as the mode promises.
An op without an int8 rule stays float in int8 mode and is an error naming it
in full-int8 mode.

Without ../shared the test skips, unless EDGEPIPE_REQUIRE_SHARED=1.
"""
import json
import os
import subprocess

import numpy as np
import pytest

edgepipe = pytest.importorskip("edgepipe", reason="build the _edgepipe module and set PYTHONPATH")
litert = pytest.importorskip("ai_edge_litert.interpreter", reason="pip install ai-edge-litert")
pytest.importorskip("ai_edge_litert.schema_py_generated", reason="pip install ai-edge-litert")
cv2 = pytest.importorskip("cv2")

from tflite_graph_builder import GraphBuilder, schema  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("EDGEPIPE_BUILD_DIR", os.path.join(ROOT, "build"))
CLI = os.path.join(BUILD, "bin", "edgepipe")
SHARED = os.environ.get("EDGEPIPE_SHARED_DIR", os.path.join(ROOT, "..", "shared"))
MEDIA = os.path.join(SHARED, "media")
PHOTOS = ["bird.bmp", "cat_720p.jpg", "dog_segmentation_256.bmp", "face.jpg", "grace_hopper.bmp",
          "kite_and_cold.jpg", "parrot.jpg", "squat.bmp", "traffic_0001.bmp"]

if not os.path.isdir(MEDIA):
    if os.environ.get("EDGEPIPE_REQUIRE_SHARED") == "1":
        raise RuntimeError(f"EDGEPIPE_REQUIRE_SHARED=1 but {MEDIA} is missing")
    pytest.skip(f"{MEDIA} is absent (clone without ../shared)", allow_module_level=True)
if not os.path.exists(CLI):
    pytest.skip(f"{CLI} is not built", allow_module_level=True)


def vision_model(rng):
    """[1, 32, 32, 3] in [-1, 1] -> softmax [1, 10] and logistic [1, 8, 8, 32]."""
    g = GraphBuilder()
    x = g.input("image", [1, 32, 32, 3])
    c1 = g.conv2d(x, rng.normal(0, 0.3, (16, 3, 3, 3)), rng.normal(0, 0.1, 16), stride=2, activation="RELU")
    c2 = g.conv2d(c1, rng.normal(0, 0.1, (16, 3, 3, 16)), rng.normal(0, 0.1, 16), activation="RELU")
    d1 = g.depthwise_conv2d(c2, rng.normal(0, 0.3, (1, 3, 3, 16)), rng.normal(0, 0.1, 16), activation="RELU6")
    a1 = g.add(c2, d1)
    cat = g.concatenation([a1, c1], axis=3)
    p1 = g.pool(cat, "average", 2, 2)
    p2 = g.pool(p1, "max", 2, 2)
    up = g.resize_bilinear(p2, 8, 8)
    g.output(g.unary(schema.BuiltinOperator.LOGISTIC, up))
    flat = g.reshape(up, [1, -1])
    logits = g.fully_connected(flat, rng.normal(0, 0.02, (10, 2048)), rng.normal(0, 0.1, 10))
    g.output(g.softmax(logits))
    return g.finish()


def with_unquantizable_op(rng):
    """conv -> LEAKY_RELU (no int8 rule) -> conv."""
    g = GraphBuilder()
    x = g.input("image", [1, 16, 16, 3])
    c1 = g.conv2d(x, rng.normal(0, 0.3, (8, 3, 3, 3)), rng.normal(0, 0.1, 8))
    opt = schema.LeakyReluOptionsT()
    opt.alpha = 0.1
    leaky = g.op(schema.BuiltinOperator.LEAKY_RELU, [c1], g.shape(c1), schema.BuiltinOptions.LeakyReluOptions, opt,
                 name="leaky")
    g.output(g.conv2d(leaky, rng.normal(0, 0.3, (4, 3, 3, 8)), rng.normal(0, 0.1, 4)))
    return g.finish()


def photos(shape):
    """The media photos as the CLI preprocesses them: resized, RGB, (p - 127.5) / 127.5."""
    _, h, w, _ = shape
    out = []
    for name in PHOTOS:
        bgr = cv2.imread(os.path.join(MEDIA, name), cv2.IMREAD_COLOR)
        rgb = cv2.cvtColor(cv2.resize(bgr, (w, h), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
        out.append(((rgb.astype(np.float32) - 127.5) / 127.5)[None])
    return out


def quantize(model_path, out_path, mode, *extra, check=True):
    report = str(out_path) + ".json"
    args = [CLI, "quantize", str(model_path), "-o", str(out_path), "--mode", mode, "--report", report, *extra]
    if mode in ("int8", "full-int8") and "--calibration" not in extra:
        args += ["--calibration", MEDIA]
    result = subprocess.run(args, capture_output=True, text=True)
    if not check:
        return result
    assert result.returncode == 0, result.stderr
    with open(report) as f:
        return json.load(f)


def to_input(x, detail):
    if detail["dtype"] == np.float32:
        return x
    scale, zero = detail["quantization"][:2]
    info = np.iinfo(detail["dtype"])
    return np.clip(np.round(x / scale) + zero, info.min, info.max).astype(detail["dtype"])


def real(y, detail):
    if detail["dtype"] == np.float32:
        return y.astype(np.float64)
    scale, zero = detail["quantization"][:2]
    return scale * (y.astype(np.float64) - zero)


def run_litert(path, x, delegates=True):
    """delegates=False: TFLite's own kernels only. Its default XNNPACK delegate runs some hybrid
    (dynamic-mode) ops with XNNPACK's own on-the-fly quantization (per pixel, not per image), so
    edgepipe, which computes them as TFLite's kernels do, is compared with those."""
    kind = None if delegates else litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interpreter = litert.Interpreter(model_path=str(path), num_threads=1, experimental_op_resolver_type=kind) \
        if kind is not None else litert.Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], to_input(x, detail))
    interpreter.invoke()
    return {d["name"]: (interpreter.get_tensor(d["index"]), d) for d in interpreter.get_output_details()}


def run_edgepipe(path, x):
    interpreter = edgepipe.Interpreter(str(path), num_threads=1)
    detail = interpreter.get_input_details()[0]
    interpreter.set_input(0, to_input(x, detail))
    interpreter.invoke()
    return {d["name"]: (interpreter.get_output(i), d) for i, d in enumerate(interpreter.get_output_details())}


@pytest.fixture(scope="module")
def float_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("quantize") / "vision.tflite"
    path.write_bytes(vision_model(np.random.default_rng(7)))
    return path


MODES = {
    "fp16": ("fp16",),
    "dynamic": ("dynamic",),
    "int8": ("int8",),
    "full_int8": ("full-int8", "--io", "int8"),
    "full_uint8": ("full-int8", "--io", "uint8"),
    "int8_per_tensor_mse": ("int8", "--per-tensor", "--calibrator", "mse"),
    "int8_percentile": ("int8", "--calibrator", "percentile"),
    "int8_letterbox": ("int8", "--letterbox"),
}


@pytest.mark.parametrize("variant", sorted(MODES))
def test_quantized_model_runs_in_litert_and_matches(float_model, tmp_path, variant):
    mode, *extra = MODES[variant]
    out = tmp_path / f"{variant}.tflite"
    report = quantize(float_model, out, mode, *extra)
    size = os.path.getsize(float_model)
    assert report["size_before"] == size and report["size_after"] == os.path.getsize(out)
    ratio = size / report["size_after"]
    assert ratio > {"fp16": 1.8, "dynamic": 2.5}.get(mode, 3.0), report
    int8 = mode in ("int8", "full-int8")
    if int8:
        assert report["ops_in_float"] == 0, report["ops"]
        assert all(op["action"] == "int8" for op in report["ops"])
        assert report["activations"] and all(t["scale"] > 0 for t in report["activations"])


    for x in photos([1, 32, 32, 3]):
        want = run_litert(float_model, x)
        ours = run_edgepipe(out, x)
        theirs = run_litert(out, x, delegates=mode != "dynamic")
        assert ours.keys() == theirs.keys() == want.keys()
        for name, (y_ref, d_ref) in want.items():
            y_ours, d_ours = ours[name]
            y_theirs, d_theirs = theirs[name]
            assert d_ours["dtype"] == d_theirs["dtype"]
            got, lite, expected = real(y_ours, d_ours), real(y_theirs, d_theirs), real(y_ref, d_ref)
            if not int8:
                np.testing.assert_allclose(got, lite, atol=1e-4, rtol=1e-4, err_msg=name)
                np.testing.assert_allclose(got, expected, atol=1e-2, rtol=1e-2, err_msg=name)
                continue
            step = 1.0 / 256.0  # both outputs (softmax, logistic) have the spec's fixed scale 1/256
            # The two runtimes round differently in places (LiteRT's XNNPACK logistic is a
            # table, ours a computation): two steps apart at most.
            assert np.max(np.abs(got - lite)) <= 2 * step * 1.01, name
            # Against the float model: within a few steps.
            assert np.max(np.abs(got - expected)) <= 6 * step, (name, np.max(np.abs(got - expected)) / step)


def test_unquantizable_op_stays_float_in_int8_and_fails_full_int8(tmp_path):
    path = tmp_path / "leaky.tflite"
    path.write_bytes(with_unquantizable_op(np.random.default_rng(3)))
    out = tmp_path / "leaky_int8.tflite"
    report = quantize(path, out, "int8")
    actions = {op["op"]: op for op in report["ops"]}
    assert actions["LEAKY_RELU"]["action"] == "float" and "no int8 rule" in actions["LEAKY_RELU"]["why"]
    assert report["ops_in_float"] == 1
    for x in photos([1, 16, 16, 3])[:3]:
        want, ours, theirs = run_litert(path, x), run_edgepipe(out, x), run_litert(out, x)
        for name in want:
            np.testing.assert_allclose(ours[name][0], theirs[name][0], atol=1e-4)
            spread = np.max(np.abs(want[name][0])) + 1e-6
            assert np.max(np.abs(ours[name][0] - want[name][0])) < 0.05 * spread

    failed = quantize(path, tmp_path / "leaky_full.tflite", "full-int8", check=False)
    assert failed.returncode != 0
    assert "op #1 LEAKY_RELU cannot be quantized" in failed.stderr


def test_skip_keeps_an_op_in_float(float_model, tmp_path):
    out = tmp_path / "skip.tflite"
    report = quantize(float_model, out, "int8", "--skip", "SOFTMAX")
    softmax = [op for op in report["ops"] if op["op"] == "SOFTMAX"]
    assert softmax and softmax[0]["action"] == "float" and "--skip" in softmax[0]["why"]
    x = photos([1, 32, 32, 3])[0]
    ours, theirs = run_edgepipe(out, x), run_litert(out, x)
    for name in ours:
        np.testing.assert_allclose(real(*ours[name]), real(*theirs[name]), atol=2.02 / 256)


def test_compare_reports_errors(float_model, tmp_path):
    report = quantize(float_model, tmp_path / "cmp.tflite", "int8", "--compare")
    assert len(report["compare"]) == 2
    for entry in report["compare"]:
        assert 0 < entry["mean_abs"] <= entry["max_abs"] < 6.0 / 256
        assert entry["sqnr_db"] > 15


FACE_MODEL = os.path.join(SHARED, "models", "face_detection_short_range.tflite")
FACE_SKIP = ["classificator_8", "classificator_16", "regressor_8", "regressor_16", "RESHAPE", "CONCATENATION"]


@pytest.mark.parametrize("mode", ["fp16", "dynamic", "int8"])
def test_face_detector_quantized_loads_in_litert(tmp_path, mode):
    """The real float (fp16-weight) MediaPipe model: every mode loads in LiteRT and matches edgepipe."""
    out = tmp_path / f"face_{mode}.tflite"
    extra = ["--calibration", os.path.join(MEDIA, "Megamind.avi"), "--samples", "20", "--calibrator", "percentile",
             "--percentile", "99.9", "--skip", *FACE_SKIP] if mode == "int8" else []
    report = quantize(FACE_MODEL, out, mode, *extra)
    assert report["float16_dequantize_folded"] > 0
    x = photos([1, 128, 128, 3])[3]  # face.jpg
    want, ours, theirs = run_litert(FACE_MODEL, x), run_edgepipe(out, x), run_litert(out, x, mode != "dynamic")
    for name in want:
        got, lite, expected = real(*ours[name]), real(*theirs[name]), real(*want[name])
        spread = np.max(np.abs(expected))
        np.testing.assert_allclose(got, lite, atol=1e-3 * spread, err_msg=name)
        # fp16 weights are the model's own; dynamic mode's hybrid convs quantize their inputs on
        # the fly too, which moves a few regressor outputs by up to ~7 % of the range (TFLite's own
        # kernels give the same numbers: `lite` above).
        if mode != "int8":
            np.testing.assert_allclose(got, expected, atol={"fp16": 1e-3, "dynamic": 8e-2}[mode] * spread,
                                       err_msg=name)


def test_bias_correction_adjusts_convs_without_activation(tmp_path):
    path = tmp_path / "leaky.tflite"
    path.write_bytes(with_unquantizable_op(np.random.default_rng(3)))
    plain, corrected = tmp_path / "plain.tflite", tmp_path / "corrected.tflite"
    quantize(path, plain, "int8")
    report = quantize(path, corrected, "int8", "--bias-correction")
    assert report["biases_corrected"] == 2  # both convs (no fused activation)
    errors = {}
    for model in (plain, corrected):
        errors[model] = 0.0
        for x in photos([1, 16, 16, 3]):
            want, ours, theirs = run_litert(path, x), run_edgepipe(model, x), run_litert(model, x)
            for name in want:
                np.testing.assert_allclose(ours[name][0], theirs[name][0], atol=1e-4)
                errors[model] += float(np.mean(ours[name][0] - want[name][0]))  # signed: the mean shift
    assert abs(errors[corrected]) <= abs(errors[plain]) + 1e-3, errors


def badly_scaled_channels(rng):
    """conv -> depthwise (no activation) -> 1x1 conv, whose depthwise channels span
    0.01x ... 100x (a folded batch norm's doing): one per-tensor int8 scale for the
    depthwise output, sized by its widest channel, wipes out the narrow ones."""
    g = GraphBuilder()
    x = g.input("image", [1, 16, 16, 3])
    c1 = g.conv2d(x, rng.normal(0, 0.3, (8, 3, 3, 3)), rng.normal(0, 0.1, 8), activation="RELU")
    gains = np.logspace(-2, 2, 8)
    d1 = g.depthwise_conv2d(c1, rng.normal(0, 0.3, (1, 3, 3, 8)) * gains, rng.normal(0, 0.1, 8) * gains)
    g.output(g.conv2d(d1, rng.normal(0, 0.3, (4, 1, 1, 8)) / gains, rng.normal(0, 0.1, 4)))
    return g.finish()


def test_equalize_rescales_channels_and_cuts_per_tensor_error(tmp_path):
    path = tmp_path / "scaled.tflite"
    path.write_bytes(badly_scaled_channels(np.random.default_rng(5)))
    plain, equalized = tmp_path / "plain.tflite", tmp_path / "equalized.tflite"
    quantize(path, plain, "int8", "--per-tensor")
    report = quantize(path, equalized, "int8", "--per-tensor", "--equalize")
    assert report["pairs_equalized"] == 2  # conv -> depthwise and depthwise -> conv
    errors = {plain: 0.0, equalized: 0.0}
    for x in photos([1, 16, 16, 3]):
        want = run_litert(path, x)
        for model in errors:
            ours, theirs = run_edgepipe(model, x), run_litert(model, x)
            for name in want:
                step = ours[name][1]["quantization"][0] if ours[name][1]["dtype"] != np.float32 else 0.0
                np.testing.assert_allclose(real(*ours[name]), real(*theirs[name]), atol=max(step, 1e-3) * 1.01)
                errors[model] += float(np.mean(np.abs(real(*ours[name]) - real(*want[name]))))
    assert errors[equalized] < 0.5 * errors[plain], errors


def test_calibration_skips_blank_frames_and_takes_grey_inputs(tmp_path):
    """A black frame (a video's lead-in) is no calibration sample; a [1, H, W, 1]
    input is calibrated on the pictures in grey."""
    g = GraphBuilder()
    x = g.input("digit", [1, 28, 28, 1])
    rng = np.random.default_rng(2)
    c1 = g.conv2d(x, rng.normal(0, 0.3, (8, 3, 3, 1)), rng.normal(0, 0.1, 8), activation="RELU")
    g.output(g.pool(c1, "max", 2, 2))
    path = tmp_path / "grey.tflite"
    path.write_bytes(g.finish())
    folder = tmp_path / "calibration"
    folder.mkdir()
    cv2.imwrite(str(folder / "0_black.png"), np.zeros((40, 40, 3), np.uint8))
    cv2.imwrite(str(folder / "1_face.png"), cv2.imread(os.path.join(MEDIA, "face.jpg")))
    report = quantize(path, tmp_path / "grey_int8.tflite", "full-int8", "--calibration", str(folder),
                      "--mean", "0", "--std", "255")
    assert report["calibration"]["samples"] == 1
    grey = cv2.cvtColor(cv2.resize(cv2.imread(os.path.join(MEDIA, "face.jpg")), (28, 28)), cv2.COLOR_BGR2GRAY)
    sample = (grey.astype(np.float32) / 255.0)[None, :, :, None]
    want = run_litert(path, sample)
    got = run_litert(tmp_path / "grey_int8.tflite", sample)
    for name in want:
        step = got[name][1]["quantization"][0]
        np.testing.assert_allclose(real(*got[name]), real(*want[name]), atol=3 * step)
