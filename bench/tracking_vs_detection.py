#!/usr/bin/env python3
"""graphs/object_detection_tracking.pbtxt (detector on 3 frames/s, tracker on
every frame) against running the detector on every frame, on vtest.avi.

    python3 bench/tracking_vs_detection.py [--video V] [--max-frames N] [--runs R]

Runs `build/bin/edgepipe run` (whole graphs: decode, model, tracker, drawing,
JSON lines; no video written) both ways and prints frames/s (best of R runs,
wall time of the process), CPU time (user + sys, least of R runs), detector
runs and the track IDs given:
  * tracking:       object_detection_tracking, detection_fps 3 (its default)
  * detection only: object_detection.pbtxt (the same detector on every frame)
The check of issue 9: tracking ≥ 3× the frames/s of the detector on every frame.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import machine  # bench/machine.py: the machine line under each table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("EDGEPIPE_SHARED_DIR", os.path.join(ROOT, "..", "shared"))
CLI = os.path.join(ROOT, "build", "bin", "edgepipe")


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(graph, video, max_frames, extra, runs):
    """Best wall time and least CPU time (user + sys) of `runs` runs, and the JSON lines of the last one."""
    best = float("inf")
    best_cpu = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        json_path = os.path.join(tmp, "out.jsonl")
        for _ in range(runs):
            args = [CLI, "run", graph, "--input", video, "--side", f"json_path={json_path}", "--quiet"] + extra
            if max_frames:
                args += ["--max-frames", str(max_frames)]
            start, start_cpu = time.perf_counter(), children_cpu_seconds()
            subprocess.run(args, cwd=ROOT, check=True)
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, children_cpu_seconds() - start_cpu)
        with open(json_path) as f:
            lines = [json.loads(line) for line in f]
    return best, best_cpu, lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", default=os.path.join(SHARED, "media", "vtest.avi"))
    parser.add_argument("--max-frames", type=int, default=0, help="0 = the whole video")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    if not os.path.exists(CLI):
        sys.exit(f"build the CLI first: ninja -C build edgepipe_cli ({CLI} missing)")
    tracking = os.path.join(ROOT, "graphs", "object_detection_tracking.pbtxt")
    detection = os.path.join(ROOT, "graphs", "object_detection.pbtxt")
    rows = [("tracking (detector 3 fps)", tracking, []),
            ("detection only, every frame", detection, [])]
    results, cpu = {}, {}
    for name, graph, extra in rows:
        seconds, cpu_seconds, lines = run(graph, args.video, args.max_frames, extra, args.runs)
        cpu[name] = cpu_seconds
        ids = {t["track_id"] for line in lines for t in line.get("tracks", [])}
        detector_runs = sum("detections" in line for line in lines) if "tracks" in lines[0] else len(lines)
        results[name] = len(lines) / seconds
        id_text = f"{len(ids):3d} IDs" if "tracks" in lines[0] else "  - IDs"
        print(f"{name:32s} {len(lines):4d} frames  {detector_runs:4d} detector runs  {id_text}  "
              f"{len(lines) / seconds:7.1f} frames/s  {cpu_seconds:5.2f} CPU s")
    base = results["tracking (detector 3 fps)"]
    print(f"machine: {machine.describe()}")
    print(f"speed-up: {base / results['detection only, every frame']:.2f}x the frames/s of the detector on every "
          f"frame (target >= 3x); {cpu['detection only, every frame'] / cpu['tracking (detector 3 fps)']:.2f}x less CPU "
          f"time (steadier than frames/s on a loaded machine)")


if __name__ == "__main__":
    main()
