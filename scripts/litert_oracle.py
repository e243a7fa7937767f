"""Compares another build's `edgepipe infer` with LiteRT (ai-edge-litert) on
every .tflite at the top level of a models directory.

For each model the host makes deterministic inputs (trial 0: a real image
from the media directory, resized by PIL, for [1,H,W,3] inputs and the zero
point elsewhere, as tests/python/test_engine_vs_litert.py does; later trials:
seeded random tensors), runs LiteRT on them, runs `RUNNER... EDGEPIPE infer
MODEL --input-raw ... --output-raw DIR` (e.g. an arm64 build under qemu) and
compares the outputs with that test's tolerances: float32 within 1e-4
(absolute or relative), quantized within one step on >= 99.9 % of elements,
other integers identical on >= 99.8 %. Two differences, both because the
other build runs other (e.g. NEON) XNNPACK kernels than LiteRT on the host:
  - float32 may also be within 1e-6 of the tensor's largest magnitude: a value
    that is a small difference of large terms carries their rounding (on
    palm_detection 1.4e-4 on 0.5 where the tensor reaches 485);
  - TFLite_Detection_PostProcess outputs are compared on the real image only:
    on random inputs hundreds of near-tied scores make a one-step difference
    in the network change which boxes are kept.

  python3 scripts/litert_oracle.py --models ../shared/models --edgepipe build-arm64/bin/edgepipe \\
      --runner "qemu-aarch64-static -L build-arm64/sysroot" --work build-arm64/oracle

Prints one line per model; exits 1 when any model differs or fails to run.
"""
import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter


def image_input(detail, image):
    """`image` resized to the input's H x W (RGB), in the input's dtype and range."""
    from PIL import Image
    _, height, width, _ = (int(d) for d in detail["shape"])
    with Image.open(image) as img:
        pixels = np.asarray(img.convert("RGB").resize((width, height), Image.BILINEAR), dtype=np.uint8)[None]
    if detail["dtype"] == np.uint8:
        return pixels
    if detail["dtype"] == np.int8:
        return (pixels.astype(np.int16) - 128).astype(np.int8)
    return (pixels.astype(np.float32) / 127.5 - 1.0).astype(detail["dtype"])


def is_image_input(detail):
    shape = detail["shape"]
    return len(shape) == 4 and int(shape[3]) == 3


def random_input(detail, rng):
    shape = tuple(int(d) for d in detail["shape"])
    dtype = detail["dtype"]
    if dtype == np.float32:
        return rng.uniform(-1.0, 1.0, shape).astype(np.float32)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)


def compare(index, ours, ref, detail):
    """An error message, or None when `ours` matches `ref` (test_engine_vs_litert's assert_close)."""
    if ours.shape != ref.shape or ours.dtype != ref.dtype:
        return f"output {index}: {ours.dtype}{list(ours.shape)} vs {ref.dtype}{list(ref.shape)}"
    if ref.dtype == np.float32:
        diff = np.abs(ours.astype(np.float64) - ref)
        scale = float(np.abs(ref).max()) if ref.size else 0.0
        ok = (diff <= 1e-4) | (diff <= 1e-4 * np.abs(ref)) | (diff <= 1e-6 * scale)
        if not ok.all():
            return (f"output {index}: {np.count_nonzero(~ok)} of {ok.size} elements differ by more than 1e-4 "
                    f"(max {np.nanmax(diff):.3g})")
    elif detail["quantization"][0] != 0.0:
        steps = np.abs(ours.astype(np.int64) - ref.astype(np.int64))
        within = np.mean(steps <= 1)
        if within < 0.999:
            return f"output {index}: only {within:.4%} within one quantization step (max {steps.max()} steps)"
    else:
        same = np.mean(ours == ref)
        if same < 0.998:
            return f"output {index}: only {same:.4%} of elements identical"
    return None


def check_model(model, args, work):
    ref = Interpreter(model_path=str(model), num_threads=1)
    ref.allocate_tensors()
    rng = np.random.default_rng(args.seed)
    problems = []
    for trial in range(args.trials):
        trial_dir = work / model.stem / f"trial{trial}"
        (trial_dir / "out").mkdir(parents=True, exist_ok=True)
        input_files = []
        for i, detail in enumerate(ref.get_input_details()):
            if trial > 0:
                value = random_input(detail, rng)
            elif is_image_input(detail):
                value = image_input(detail, args.media / (args.traffic_image if "traffic" in model.name
                                                          else args.image))
            else:
                value = np.full(detail["shape"], detail["quantization"][1], detail["dtype"])
            ref.set_tensor(detail["index"], value)
            path = trial_dir / f"input_{i}.bin"
            path.write_bytes(value.tobytes())
            input_files.append(str(path))
        ref.invoke()
        command = (shlex.split(args.runner) + [args.edgepipe, "infer", str(model), "--json", "--top", "0",
                   "--threads", str(args.threads), "--output-raw", str(trial_dir / "out"), "--input-raw"]
                   + input_files)
        run = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
        if run.returncode != 0:
            return [f"trial {trial}: edgepipe infer failed (exit {run.returncode}): {run.stderr.strip()[-500:]}"]
        outputs = json.loads(run.stdout)["outputs"]
        for i, detail in enumerate(ref.get_output_details()):
            if trial > 0 and detail["name"].startswith("TFLite_Detection_PostProcess"):
                continue
            expected = ref.get_tensor(detail["index"])
            ours = np.fromfile(outputs[i]["raw_file"], dtype=expected.dtype)
            if ours.size != expected.size:
                problems.append(f"trial {trial} output {i}: {ours.size} values, LiteRT has {expected.size}")
                continue
            problem = compare(i, ours.reshape(expected.shape), expected, detail)
            if problem:
                problems.append(f"trial {trial} {problem}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", required=True, type=Path)
    parser.add_argument("--edgepipe", required=True, help="the edgepipe CLI to test")
    parser.add_argument("--runner", default="", help="command prefix, e.g. 'qemu-aarch64-static -L SYSROOT'")
    parser.add_argument("--work", required=True, type=Path, help="directory for the input and output files")
    parser.add_argument("--media", type=Path, help="real images (default: MODELS/../media)")
    parser.add_argument("--image", default="grace_hopper.bmp", help="the real image of trial 0")
    parser.add_argument("--traffic-image", default="traffic_0001.bmp", help="trial 0's image for traffic models")
    parser.add_argument("--trials", type=int, default=2, help="trial 0: a real image; then random inputs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    args.media = args.media or args.models.parent / "media"
    models = sorted(args.models.glob("*.tflite"))
    if not models:
        print(f"no .tflite models in {args.models}", file=sys.stderr)
        return 1
    failed = 0
    for model in models:
        start = time.monotonic()
        try:
            problems = check_model(model, args, args.work)
        except (subprocess.TimeoutExpired, OSError, ValueError, KeyError) as e:
            problems = [f"{type(e).__name__}: {e}"]
        status = "ok" if not problems else "FAIL"
        print(f"  {status:4} {model.name:45} {time.monotonic() - start:6.1f}s")
        for p in problems:
            print(f"       {p}")
        failed += bool(problems)
    print(f"oracle: {len(models) - failed} of {len(models)} models match LiteRT")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
