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
With --arm-python, a trial that differs from LiteRT on the host is also run in
LiteRT for aarch64 (the PyPI aarch64 wheel, under the same runner) and passes
when it matches that under the same rules: on aarch64, XNNPACK's 8-bit kernels
round differently from its x86 ones (within one step), and a label picked by
ARG_MAX or a box kept by NMS at a near-tie then follows the platform
(deeplab: 99.6 % of labels equal to LiteRT on x86, 99.8 % to LiteRT on
aarch64; traffic_model: boxes equal to LiteRT on aarch64 only). Such models are
reported as matching LiteRT on aarch64, with what differed on the host.

  python3 scripts/litert_oracle.py --models ../shared/models --edgepipe build-arm64/bin/edgepipe \\
      --runner "qemu-aarch64-static -L build-arm64/sysroot" --work build-arm64/oracle

Prints one line per model; exits 1 when any model differs or fails to run.
"""
import argparse
import json
import os
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


# Runs in the other platform's Python (e.g. arm64 under qemu): LiteRT on the
# input files, each output written as raw bytes.
ARM_REFERENCE = """
import sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter
model, out_dir, inputs = sys.argv[1], sys.argv[2], sys.argv[3:]
it = Interpreter(model_path=model, num_threads=1)
it.allocate_tensors()
for d, f in zip(it.get_input_details(), inputs):
    it.set_tensor(d["index"], np.fromfile(f, dtype=d["dtype"]).reshape(d["shape"]))
it.invoke()
for i, d in enumerate(it.get_output_details()):
    it.get_tensor(d["index"]).tofile(f"{out_dir}/reference_{i}.bin")
"""


def arm_reference(model, args, trial_dir, input_files):
    """LiteRT for the other platform's outputs on these inputs, as raw-byte files (index -> path)."""
    ref_dir = trial_dir / "arm_reference"
    ref_dir.mkdir(exist_ok=True)
    command = shlex.split(args.runner) + shlex.split(args.arm_python) + ["-c", ARM_REFERENCE, str(model),
                                                                        str(ref_dir)] + input_files
    env = dict(os.environ, PYTHONPATH=args.arm_pythonpath or "")
    run = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout, env=env)
    if run.returncode != 0:
        raise ValueError(f"LiteRT for aarch64 failed (exit {run.returncode}): {run.stderr.strip()[-500:]}")
    return ref_dir


def compare_outputs(ref_details, trial, outputs, expected_of):
    problems = []
    for i, detail in enumerate(ref_details):
        if trial > 0 and detail["name"].startswith("TFLite_Detection_PostProcess"):
            continue
        expected = expected_of(i, detail)
        ours = np.fromfile(outputs[i]["raw_file"], dtype=expected.dtype)
        if ours.size != expected.size:
            problems.append(f"trial {trial} output {i}: {ours.size} values, LiteRT has {expected.size}")
            continue
        problem = compare(i, ours.reshape(expected.shape), expected, detail)
        if problem:
            problems.append(f"trial {trial} {problem}")
    return problems


def check_model(model, args, work):
    """(problems, notes): problems fail the model; notes say where only LiteRT on aarch64 matched."""
    ref = Interpreter(model_path=str(model), num_threads=1)
    ref.allocate_tensors()
    rng = np.random.default_rng(args.seed)
    problems, notes = [], []
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
        command = (shlex.split(args.runner) + [args.edgepipe, "infer", str(model), "--json",
                   "--threads", str(args.threads), "--output-raw", str(trial_dir / "out"), "--input-raw"]
                   + input_files)
        run = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
        if run.returncode != 0:
            return [f"trial {trial}: edgepipe infer failed (exit {run.returncode}): {run.stderr.strip()[-500:]}"], notes
        outputs = json.loads(run.stdout)["outputs"]
        details = ref.get_output_details()
        host_problems = compare_outputs(details, trial, outputs, lambda i, d: ref.get_tensor(d["index"]))
        if host_problems and args.arm_python:
            ref_dir = arm_reference(model, args, trial_dir, input_files)
            arm_problems = compare_outputs(
                details, trial, outputs,
                lambda i, d: np.fromfile(ref_dir / f"reference_{i}.bin", dtype=d["dtype"]).reshape(d["shape"]))
            if not arm_problems:
                notes += [f"matches LiteRT for aarch64; vs LiteRT on the host: {p}" for p in host_problems]
                continue
            host_problems += [f"(vs LiteRT for aarch64) {p}" for p in arm_problems]
        problems += host_problems
    return problems, notes


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
    parser.add_argument("--arm-python", default="",
                        help="the other platform's python3 (run with --runner), for LiteRT there as a second reference")
    parser.add_argument("--arm-pythonpath", default="", help="PYTHONPATH for --arm-python (where its LiteRT is)")
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
            problems, notes = check_model(model, args, args.work)
        except (subprocess.TimeoutExpired, OSError, ValueError, KeyError) as e:
            problems, notes = [f"{type(e).__name__}: {e}"], []
        status = "ok" if not problems else "FAIL"
        print(f"  {status:4} {model.name:45} {time.monotonic() - start:6.1f}s")
        for p in problems + notes:
            print(f"       {p}")
        failed += bool(problems)
    print(f"oracle: {len(models) - failed} of {len(models)} models match LiteRT")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
