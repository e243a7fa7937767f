#!/usr/bin/env python3
"""Post-training quantization: TensorFlow's converter vs litert-quantizer vs `edgepipe quantize`.

    PYTHONPATH=python:build/python python3 bench/quantization_table.py [--epochs 2] [--keep DIR] [--runs 200] [--skip-mediapipe]

Part 1 (issue 11's table): a small CNN is trained (seeded) on Fashion-MNIST
(Debian dataset-fashion-mnist, /usr/share/datasets/fashion-mnist), written as a
float .tflite, and quantized four ways (dynamic, fp16, int8, full-int8) by each
quantizer. For every file: size, test accuracy (10 000 test images, LiteRT),
median latency at 1 and 2 threads in edgepipe's engine and in LiteRT (the two
interleaved invoke by invoke), and how long
the quantizer took (int8 modes: calibration on 200 training images included).
litert-quantizer keeps float model inputs and outputs, so it has no full-int8.
Then an FC-heavy MLP (784-1024-1024-10) as float and dynamic by each quantizer:
latency only (hybrid FULLY_CONNECTED against float).

Part 2: `edgepipe quantize --mode int8` on the float MediaPipe models in
../shared: face and palm detection agreement with the float model (frames of
Megamind.avi / face.jpg), hand landmark error (pixels of the 224 input) and
selfie mask error (mean |p - p_float|).

TensorFlow and litert-quantizer (bench/requirements-quantization.txt) are
installed on the first run into build/bench-venv, which this script re-runs
itself in; edgepipe never needs them.
"""
import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time

import machine  # bench/machine.py: the machine line under each table

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.environ.get("EDGEPIPE_BUILD_DIR", os.path.join(ROOT, "build"))
CLI = os.path.join(BUILD, "bin", "edgepipe")
VENV = os.path.join(BUILD, "bench-venv")
FASHION = "/usr/share/datasets/fashion-mnist"
SHARED = os.path.join(ROOT, "..", "shared")
MODES = ["float", "dynamic", "fp16", "int8", "full-int8"]
CALIBRATION = 200
EXTRA = ["--equalize", "--calibrator", "mse"]  # landmark and segmentation models
REFUSED = {}  # file -> why edgepipe's engine does not load it


def ensure_tensorflow():
    """Re-runs this script in build/bench-venv, making it on the first run."""
    try:
        import tensorflow  # noqa: F401
        import litert_quantizer  # noqa: F401
        return
    except ImportError:
        pass
    python = os.path.join(VENV, "bin", "python3")
    if os.path.abspath(sys.prefix) == os.path.abspath(VENV):
        sys.exit("bench-venv lacks tensorflow / litert-quantizer")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", VENV], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "-r", os.path.join(HERE, "requirements-quantization.txt")],
                   check=True)
    os.execv(python, [python, *sys.argv])


def read_idx(name):
    import numpy as np
    with gzip.open(os.path.join(FASHION, name)) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def train(epochs, seed, cache):
    """The CNN (from `cache` when a previous run with the same epochs and seed saved it)."""
    import numpy as np
    import tensorflow as tf
    tf.keras.utils.set_random_seed(seed)
    x_train = read_idx("train-images-idx3-ubyte.gz").astype(np.float32)[..., None] / 255.0
    y_train = read_idx("train-labels-idx1-ubyte.gz")
    x_test = read_idx("t10k-images-idx3-ubyte.gz").astype(np.float32)[..., None] / 255.0
    y_test = read_idx("t10k-labels-idx1-ubyte.gz")
    model = tf.keras.Sequential([
        tf.keras.Input((28, 28, 1), batch_size=1),
        tf.keras.layers.Conv2D(32, 3, activation="relu"),
        tf.keras.layers.MaxPooling2D(),
        tf.keras.layers.Conv2D(64, 3, activation="relu"),
        tf.keras.layers.MaxPooling2D(),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    saved = os.path.join(cache, f"fashion_cnn_e{epochs}_s{seed}.weights.h5") if cache else None
    if saved and os.path.exists(saved):
        model.load_weights(saved)
        return model, (x_train, y_train), (x_test, y_test)
    # Trained with a batch dimension of None, exported with 1 (a phone's shape).
    trainable = tf.keras.Sequential([tf.keras.Input((28, 28, 1))] + model.layers)
    trainable.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    trainable.fit(x_train, y_train, epochs=epochs, batch_size=128, verbose=2)
    if saved:
        model.save_weights(saved)
    return model, (x_train, y_train), (x_test, y_test)


def tf_variants(model, calibration, out):
    import numpy as np
    import tensorflow as tf
    paths, seconds = {}, {}

    def representative():
        for x in calibration:
            yield [x[None].astype(np.float32)]

    for mode in MODES:
        start = time.perf_counter()
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if mode != "float":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode == "fp16":
            converter.target_spec.supported_types = [tf.float16]
        if mode in ("int8", "full-int8"):
            converter.representative_dataset = representative
        if mode == "full-int8":
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        data = converter.convert()
        seconds[mode] = time.perf_counter() - start
        paths[mode] = os.path.join(out, f"tf_{mode}.tflite")
        with open(paths[mode], "wb") as f:
            f.write(data)
    return paths, seconds


def litert_variants(float_path, calibration, out):
    from litert_quantizer import quantizer, recipe, recipe_manager
    from litert_quantizer.algorithm_manager import AlgorithmName
    from litert_quantizer.qtyping import TFLOperationName
    from litert_quantizer.utils import tfl_interpreter_utils
    paths, seconds = {}, {}
    fp16 = recipe_manager.RecipeManager()
    fp16.add_weight_only_config(regex=".*", operation_name=TFLOperationName.ALL_SUPPORTED, num_bits=16,
                                algorithm_key=AlgorithmName.FLOAT_CASTING)
    recipes = {"dynamic": recipe.dynamic_wi8_afp32(), "fp16": fp16.get_quantization_recipe(),
               "int8": recipe.static_wi8_ai8()}
    for mode, rp in recipes.items():
        start = time.perf_counter()
        qt = quantizer.Quantizer(float_path)
        qt.load_quantization_recipe(rp)
        result = None
        if qt.need_calibration:
            from ai_edge_litert.interpreter import Interpreter
            input_name = list(Interpreter(model_path=float_path).get_signature_runner().get_input_details())[0]
            data = {tfl_interpreter_utils.DEFAULT_SIGNATURE_KEY: [{input_name: x[None]} for x in calibration]}
            result = qt.calibrate(data)
        paths[mode] = os.path.join(out, f"litert_{mode}.tflite")
        qt.quantize(result, enable_progress_report=False).export_model(paths[mode], overwrite=True)
        seconds[mode] = time.perf_counter() - start
    return paths, seconds


def edgepipe_variants(float_path, calibration, out):
    import cv2
    import numpy as np
    images = os.path.join(out, "calibration")
    os.makedirs(images, exist_ok=True)
    for i, x in enumerate(calibration):
        cv2.imwrite(os.path.join(images, f"{i:04d}.png"), (x[..., 0] * 255.0 + 0.5).astype(np.uint8))
    paths, seconds = {}, {}
    for mode in MODES[1:]:
        paths[mode] = os.path.join(out, f"edgepipe_{mode}.tflite")
        start = time.perf_counter()
        subprocess.run([CLI, "quantize", float_path, "-o", paths[mode], "--mode", mode, "--calibration", images,
                        "--samples", str(len(calibration)), "--mean", "0", "--std", "255"],
                       check=True, capture_output=True)
        seconds[mode] = time.perf_counter() - start
    return paths, seconds


def litert(path, threads=1):
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=path, num_threads=threads)
    it.allocate_tensors()
    return it


def quantized_input(x, detail):
    import numpy as np
    if detail["dtype"] == np.float32:
        return x.astype(np.float32)
    scale, zero = detail["quantization"]
    info = np.iinfo(detail["dtype"])
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(detail["dtype"])


def accuracy(path, test):
    import numpy as np
    x_test, y_test = test
    it = litert(path)
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    right = 0
    for x, y in zip(x_test, y_test):
        it.set_tensor(i["index"], quantized_input(x[None], i))
        it.invoke()
        right += int(np.argmax(it.get_tensor(o["index"])[0]) == y)
    return 100.0 * right / len(y_test)


def latency(path, threads, runs, x):
    """Median ms per invoke: (edgepipe engine, LiteRT), the two interleaved invoke by invoke so that
    both see the same machine load; None where the engine refuses the file."""
    import statistics
    import edgepipe
    theirs = litert(path, threads)
    detail = theirs.get_input_details()[0]
    value = quantized_input(x[None], detail)
    theirs.set_tensor(detail["index"], value)
    try:
        ours = edgepipe.Interpreter(path, num_threads=threads)
        ours.set_input(0, value)
    except edgepipe.Error as error:
        REFUSED[os.path.basename(path)] = str(error).split(": ", 1)[-1]
        ours = None
    invokes = [ours.invoke if ours else None, theirs.invoke]
    times = [[], []]
    for i in range(max(runs // 10, 5) + runs):
        for k, invoke in enumerate(invokes):
            if invoke is None:
                continue
            start = time.perf_counter()
            invoke()
            if i >= max(runs // 10, 5):  # after the warm-up
                times[k].append(time.perf_counter() - start)
    return [statistics.median(t) * 1e3 if t else None for t in times]


def mlp_table(args, out):
    """An FC-heavy model (784 -> 1024 -> 1024 -> 10, untrained: latency only) as float and dynamic
    (TF converter, litert-quantizer, edgepipe): where hybrid FULLY_CONNECTED's int8 weights pay."""
    import numpy as np
    import tensorflow as tf
    tf.keras.utils.set_random_seed(args.seed)
    model = tf.keras.Sequential([tf.keras.Input((784,), batch_size=1), tf.keras.layers.Dense(1024, activation="relu"),
                                 tf.keras.layers.Dense(1024, activation="relu"), tf.keras.layers.Dense(10)])
    paths = {}
    for mode, key in (("float", ("float", "—")), ("dynamic", ("dynamic", "TF converter"))):
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if mode == "dynamic":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        paths[key] = os.path.join(out, f"mlp_tf_{mode}.tflite")
        with open(paths[key], "wb") as f:
            f.write(converter.convert())
    float_path = paths[("float", "—")]
    from litert_quantizer import quantizer, recipe
    qt = quantizer.Quantizer(float_path)
    qt.load_quantization_recipe(recipe.dynamic_wi8_afp32())
    paths[("dynamic", "litert-quantizer")] = os.path.join(out, "mlp_litert_dynamic.tflite")
    qt.quantize(None, enable_progress_report=False).export_model(paths[("dynamic", "litert-quantizer")],
                                                                 overwrite=True)
    paths[("dynamic", "edgepipe quantize")] = os.path.join(out, "mlp_edgepipe_dynamic.tflite")
    subprocess.run([CLI, "quantize", float_path, "-o", paths[("dynamic", "edgepipe quantize")], "--mode", "dynamic"],
                   check=True, capture_output=True)
    x = np.random.default_rng(args.seed).random(784, dtype=np.float32)
    print("\n| MLP 784-1024-1024-10 | quantizer | size (KB) | edgepipe 1T (ms) | edgepipe 2T (ms) | LiteRT 1T (ms) "
          "| LiteRT 2T (ms) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (mode, who), path in paths.items():
        (e1, l1), (e2, l2) = latency(path, 1, args.runs, x), latency(path, 2, args.runs, x)
        ms = ["n/a" if v is None else f"{v:.3f}" for v in (e1, e2, l1, l2)]
        print(f"| {mode} | {who} | {os.path.getsize(path) / 1024:.1f} | {' | '.join(ms)} |", flush=True)


def fashion_table(args, out):
    model, (x_train, _), test = train(args.epochs, args.seed, args.keep)
    calibration = x_train[:CALIBRATION]
    tf_paths, tf_seconds = tf_variants(model, calibration, out)
    float_path = tf_paths["float"]
    lr_paths, lr_seconds = litert_variants(float_path, calibration, out)
    ep_paths, ep_seconds = edgepipe_variants(float_path, calibration, out)
    rows = [("float", "—", float_path, None)]
    for mode in MODES[1:]:
        rows.append((mode, "TF converter", tf_paths[mode], tf_seconds[mode]))
        if mode in lr_paths:
            rows.append((mode, "litert-quantizer", lr_paths[mode], lr_seconds[mode]))
        rows.append((mode, "edgepipe quantize", ep_paths[mode], ep_seconds[mode]))
    print(f"machine: {machine.describe()}")
    print("\n| variant | quantizer | size (KB) | test accuracy (%) | edgepipe 1T (ms) | edgepipe 2T (ms) "
          "| LiteRT 1T (ms) | LiteRT 2T (ms) | quantizing (s) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    results = {}
    for mode, who, path, seconds in rows:
        acc = accuracy(path, test)
        (e1, l1), (e2, l2) = latency(path, 1, args.runs, test[0][0]), latency(path, 2, args.runs, test[0][0])
        results[(mode, who)] = (acc, seconds)
        ms = ["n/a" if v is None else f"{v:.3f}" for v in (e1, e2, l1, l2)]
        print(f"| {mode} | {who} | {os.path.getsize(path) / 1024:.1f} | {acc:.2f} | {' | '.join(ms)} | "
              f"{'—' if seconds is None else f'{seconds:.2f}'} |", flush=True)
    print()
    for name, why in REFUSED.items():
        print(f"n/a: edgepipe's engine refuses {name}: {why}")
    ok = True
    for mode in ("int8", "full-int8"):
        ours, ours_s = results[(mode, "edgepipe quantize")]
        for who in ("TF converter", "litert-quantizer"):
            if (mode, who) not in results:
                continue
            acc, secs = results[(mode, who)]
            good = ours >= acc - 0.5 and ours_s < secs  # at most 0.5 points below, and faster
            ok &= good
            print(f"{mode}: edgepipe {ours:.2f} % in {ours_s:.2f} s vs {who} {acc:.2f} % in {secs:.2f} s:",
                  "PASS" if good else "FAIL")
    return ok


def run_outputs(path, inputs):
    it = litert(path)
    outs = []
    for x in inputs:
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        outs.append([it.get_tensor(d["index"]).copy() for d in it.get_output_details()])
    return outs


def frames(video, n):
    import cv2
    cap = cv2.VideoCapture(video)
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    out = []
    for i in range(total):
        ok, frame = cap.read()
        if not ok:
            break
        if i % max(total // n, 1) == 0:
            out.append(frame)
    return out


def letterboxed(frame, side):
    import cv2
    import numpy as np
    h, w = frame.shape[:2]
    s = max(h, w)
    pad = np.zeros((s, s, 3), np.uint8)
    pad[(s - h) // 2:(s - h) // 2 + h, (s - w) // 2:(s - w) // 2 + w] = frame
    rgb = cv2.cvtColor(cv2.resize(pad, (side, side), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
    return rgb.astype(np.float32)


def head_ops(path):
    """Output tensor names of the ops that feed the model's outputs through RESHAPE /
    CONCATENATION, up to and including the convs producing them (an SSD head)."""
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=path)
    names = {t["index"]: t["name"] for t in it.get_tensor_details()}
    producer = {o: op for op in it._get_ops_details() for o in op["outputs"]}
    todo = [d["index"] for d in it.get_output_details()]
    skip = []
    while todo:
        op = producer.get(todo.pop())
        if op is None:
            continue
        skip.append(names[op["outputs"][0]])
        if op["op_name"] in ("RESHAPE", "CONCATENATION"):
            todo += [t for t in op["inputs"] if t in producer and producer[t]["op_name"] != "DEQUANTIZE"]
    return skip


def mediapipe_part(out):
    import numpy as np
    video = os.path.join(SHARED, "media", "Megamind.avi")
    face_jpg = os.path.join(SHARED, "media", "face.jpg")
    models = [
        ("face_detection_short_range", os.path.join(SHARED, "models", "face_detection_short_range.tflite"), 128,
         -1.0, video, "detection"),
        ("palm_detection_lite", os.path.join(SHARED, "models", "palm_detection_lite.tflite"), 192, 0.0, video,
         "detection"),
        ("hand_landmark_lite", os.path.join(SHARED, "models", "zoo", "hand_landmark_lite.tflite"), 224, 0.0,
         face_jpg, "landmarks"),
        ("selfie_segmentation", os.path.join(SHARED, "models", "zoo", "selfie_segmentation.tflite"), 256, 0.0,
         video, "mask"),
    ]
    print("\n| model | int8 size / float (KB) | quantizing (s) | agreement with float |")
    print("|---|---:|---:|---|")
    import cv2
    for name, path, side, low, source, kind in models:
        if not os.path.exists(path) or not os.path.exists(source):
            print(f"| {name} | missing in ../shared | | |")
            continue
        quantized = os.path.join(out, f"{name}_int8.tflite")
        flags = ["--letterbox"] + (EXTRA if kind != "detection" else [])
        if kind == "detection":
            # As bench/quantize_face_agreement.py: the score and box heads (their logits span
            # -30000 ... +3 on dead anchors) stay float, the rest is equalized and MSE-calibrated.
            flags += ["--equalize", "--calibrator", "mse", "--bias-correction", "--skip", *head_ops(path)]
        mean, std = (127.5, 127.5) if low < 0 else (0.0, 255.0)
        start = time.perf_counter()
        subprocess.run([CLI, "quantize", path, "-o", quantized, "--mode", "int8", "--calibration", source,
                        "--samples", "100", "--mean", str(mean), "--std", str(std), *flags],
                       check=True, capture_output=True)
        seconds = time.perf_counter() - start
        pictures = frames(source, 60) if source.endswith(".avi") else [cv2.imread(source)]
        inputs = [((letterboxed(f, side) - mean) / std)[None].astype(np.float32) for f in pictures]
        ref, got = run_outputs(path, inputs), run_outputs(quantized, inputs)
        if kind == "detection":
            # The float model's best anchor above 0.5 (or none) is the int8 model's too, and
            # the logit error on the anchors the float model scores above -3.
            same, errors = 0, []
            for r, q in zip(ref, got):
                fs, qs = r[1].reshape(-1), q[1].reshape(-1)
                best_f = int(np.argmax(fs)) if fs.max() > 0 else -1
                best_q = int(np.argmax(qs)) if qs.max() > 0 else -1
                same += best_f == best_q or (best_f >= 0 and qs[best_f] > 0 and fs[best_q] > 0)
                errors.append(np.abs(fs - qs)[fs > -3])
            errors = np.concatenate(errors)
            text = (f"best detection agrees on {same}/{len(ref)} frames; logit error mean {errors.mean():.3f} "
                    f"on anchors scored above -3")
        elif kind == "landmarks":
            err = np.mean([np.abs(r[0] - q[0]).reshape(-1, 3)[:, :2].mean() for r, q in zip(ref, got)])
            text = f"landmark error {err:.2f} px (224 px input)"
        else:
            err = np.mean([np.abs(r[0] - q[0]).mean() for r, q in zip(ref, got)])
            text = f"mask error mean |p - p_float| {err:.4f}"
        print(f"| {name} | {os.path.getsize(quantized) / 1024:.0f} / {os.path.getsize(path) / 1024:.0f} | "
              f"{seconds:.1f} | {text} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=200, help="invokes per latency figure")
    parser.add_argument("--skip-mediapipe", action="store_true")
    parser.add_argument("--keep", help="write the models here instead of a temporary folder")
    args = parser.parse_args()
    if not os.path.exists(FASHION):
        sys.exit(f"missing {FASHION}: apt-get install dataset-fashion-mnist (scripts/install-deps.sh)")
    ensure_tensorflow()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or tmp
        os.makedirs(out, exist_ok=True)
        ok = fashion_table(args, out)
        mlp_table(args, out)
        if not args.skip_mediapipe:
            mediapipe_part(out)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
