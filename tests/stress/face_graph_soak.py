#!/usr/bin/env python3
"""Soak of the face graph from Python: start / cancel / del at random points (issue 14).

Runs graphs/face_detection_video.pbtxt on ../shared/media/Megamind.avi over and
over for --minutes (default 10), each round doing one seeded random action:

  run        start, let a random number of frames through (max_frames), wait_until_done
  cancel     start, cancel after a random delay, wait_until_done (CancelledError)
  del        start, drop the graph after a random delay while it runs
  del_early  start and drop the graph at once, while it opens
  idle       build and drop a graph that never starts

Every round runs under a watchdog (faulthandler: on a hang it prints
"Timeout" and every thread's stack, and exits 1). RSS is sampled after each round; after the
warm-up (the first --warmup-fraction of the time) the median RSS of the last
quarter of the samples must be within --rss-tolerance of the median of the
first quarter: a leak per round shows as growth, allocator noise does not.

  PYTHONPATH=python:build/python python3 tests/stress/face_graph_soak.py [--minutes 10] [--seed 1]

Prints the rounds, frames and RSS figures; exit 0 on success, 1 on RSS growth
or a hang, 2 when ../shared is absent. tests/python/test_face_graph_soak.py
runs a 20-second version in the suite.
"""
import argparse
import faulthandler
import gc
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("EDGEPIPE_SHARED_DIR", REPO.parent / "shared"))
GRAPH = REPO / "graphs" / "face_detection_video.pbtxt"
VIDEO = SHARED / "media" / "Megamind.avi"
MODEL = SHARED / "models" / "face_detection_short_range.tflite"
ACTIONS = ("run", "cancel", "del", "del_early", "idle")


def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


class Soak:
    def __init__(self, edgepipe, seed):
        self.edgepipe = edgepipe
        self.random = random.Random(seed)
        self.config = GRAPH.read_text()
        # The file outputs are off ("" side packets); the model is found in ../shared wherever we run.
        self.side_packets = {"input_path": str(VIDEO), "output_path": "", "json_path": "",
                             "model_path": str(MODEL), "max_frames": ""}
        self.frames = 0
        self.counts = {action: 0 for action in ACTIONS}

    def new_graph(self, seen):
        graph = self.edgepipe.Graph(self.config, str(GRAPH))

        def on_detections(value, timestamp_us):
            seen.set()
            self.frames += 1

        graph.observe("detections", on_detections)
        return graph

    def round(self):
        action = self.random.choice(ACTIONS)
        self.counts[action] += 1
        seen = threading.Event()
        graph = self.new_graph(seen)
        if action == "idle":
            del graph
            return
        sides = dict(self.side_packets)
        if action == "run":
            sides["max_frames"] = str(self.random.randint(1, 40))
        graph.start(sides)
        if action == "run":
            graph.wait_until_done()
        elif action == "cancel":
            time.sleep(self.random.uniform(0, 0.5))
            graph.cancel()
            try:
                graph.wait_until_done()
            except self.edgepipe.CancelledError:
                pass
        elif action == "del":
            seen.wait(5)  # an observer is (or has just been) running
            time.sleep(self.random.uniform(0, 0.2))
            del graph
        else:  # del_early
            del graph


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, help="overrides --minutes (the pytest version uses 20)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--round-timeout", type=float, default=60.0, help="watchdog per round, seconds")
    parser.add_argument("--warmup-fraction", type=float, default=0.2)
    parser.add_argument("--rss-tolerance", type=float, default=0.05, help="allowed RSS growth after warm-up")
    args = parser.parse_args()
    duration = args.seconds if args.seconds is not None else args.minutes * 60

    if not VIDEO.is_file() or not MODEL.is_file():
        print(f"{VIDEO} or {MODEL} is missing (clone without ../shared)", file=sys.stderr)
        return 2
    import edgepipe

    soak = Soak(edgepipe, args.seed)
    start = time.monotonic()
    samples = []  # (seconds since start, RSS KiB) after each round past the warm-up
    rounds = 0
    while time.monotonic() - start < duration:
        faulthandler.dump_traceback_later(args.round_timeout, exit=True)
        try:
            soak.round()
        finally:
            faulthandler.cancel_dump_traceback_later()
        rounds += 1
        gc.collect()
        elapsed = time.monotonic() - start
        if elapsed >= duration * args.warmup_fraction:
            samples.append((elapsed, rss_kib()))

    print(f"{rounds} rounds in {time.monotonic() - start:.0f} s (seed {args.seed}): "
          + ", ".join(f"{action} {count}" for action, count in soak.counts.items())
          + f"; {soak.frames} frames observed")
    if len(samples) < 8:
        print(f"only {len(samples)} RSS samples after the warm-up: run longer", file=sys.stderr)
        return 1
    quarter = len(samples) // 4
    first = statistics.median(rss for _, rss in samples[:quarter])
    last = statistics.median(rss for _, rss in samples[-quarter:])
    growth = (last - first) / first
    peak = max(rss for _, rss in samples)
    print(f"RSS after warm-up: first quarter median {first / 1024:.1f} MiB, last quarter median "
          f"{last / 1024:.1f} MiB ({growth * 100:+.2f} %), min {min(r for _, r in samples) / 1024:.1f} MiB, "
          f"max {peak / 1024:.1f} MiB over {len(samples)} samples")
    if growth > args.rss_tolerance:
        print(f"RSS grew {growth * 100:.2f} % (> {args.rss_tolerance * 100:.0f} %)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
