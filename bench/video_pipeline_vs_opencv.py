#!/usr/bin/env python3
"""Decode + resize + encode of a video: edgepipe versus a plain OpenCV loop.

Runs build/bin/bench_video_pipeline (C++: both pipelines in one process, best
of N alternating runs) and, for the end-to-end view, times `edgepipe run
graphs/video_resize.pbtxt` against it. Prints the ratios; exits 1 when the
in-process ratio is above --max-ratio (default 1.10).

    python3 bench/video_pipeline_vs_opencv.py [--build build] [--video PATH] [--repeats 3]
"""
import argparse
import pathlib
import re
import subprocess
import sys
import tempfile
import time

import machine  # bench/machine.py: the machine line under each table

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=str(ROOT / "build"), help="CMake build directory")
    parser.add_argument("--video", default=str(ROOT.parent / "shared" / "media" / "vtest.avi"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-ratio", type=float, default=1.10)
    args = parser.parse_args()

    bench = pathlib.Path(args.build) / "bin" / "bench_video_pipeline"
    cli = pathlib.Path(args.build) / "bin" / "edgepipe"
    for binary in (bench, cli):
        if not binary.exists():
            print(f"{binary} is missing: build it with `ninja -C {args.build} bench_video_pipeline edgepipe_cli`",
                  file=sys.stderr)
            return 2
    if not pathlib.Path(args.video).exists():
        print(f"input video {args.video} does not exist", file=sys.stderr)
        return 2

    result = subprocess.run([str(bench), args.video, "--repeats", str(args.repeats)],
                            capture_output=True, text=True, check=False)
    print(result.stdout, end="")
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        return 1
    ratio = float(re.search(r"ratio edgepipe/opencv = ([0-9.]+)", result.stdout).group(1))
    opencv_seconds = float(re.search(r"opencv loop\s+([0-9.]+) s", result.stdout).group(1))

    # End to end through the command line (includes process start and graph loading).
    best_cli = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            start = time.perf_counter()
            run = subprocess.run([str(cli), "run", "graphs/video_resize.pbtxt", "--input", args.video,
                                  "--output", str(pathlib.Path(tmp) / "out.avi"), "--quiet"],
                                 cwd=ROOT, capture_output=True, text=True, check=False)
            best_cli = min(best_cli, time.perf_counter() - start)
            if run.returncode != 0:
                print(run.stderr, file=sys.stderr)
                return 1
    print(f"machine: {machine.describe()}")
    print(f"edgepipe run (CLI, graphs/video_resize.pbtxt, width 384 keep aspect) {best_cli:7.3f} s; "
          f"ratio to the OpenCV loop = {best_cli / opencv_seconds:.3f}")
    return 0 if ratio <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
