#!/usr/bin/env python3
"""edgepipe's engine vs LiteRT (ai-edge-litert, XNNPACK on) on every shared model.

For each model and thread count (1 and 2) it measures, in one process:
  - load + first inference (model load, planning/compilation, first invoke), ms;
  - mean latency of the next N invokes, ms;
and prints the ratio edgepipe / LiteRT (< 1 means edgepipe is faster).

Run: PYTHONPATH=<src>/python:<build>/python python3 bench/engine_vs_litert.py [--runs 100] [--markdown]
"""
import argparse
import glob
import os
import statistics
import time

import numpy as np

import edgepipe
from ai_edge_litert.interpreter import Interpreter as LiteRT

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODELS = os.path.join(HERE, "..", "..", "shared", "models")


def random_inputs(details, rng):
    out = []
    for d in details:
        shape = tuple(int(x) for x in d["shape"])
        if d["dtype"] == np.float32:
            out.append(rng.uniform(-1, 1, shape).astype(np.float32))
        else:
            info = np.iinfo(d["dtype"])
            out.append(rng.integers(info.min, info.max, shape, endpoint=True).astype(d["dtype"]))
    return out


def bench_edgepipe(path, threads, inputs, runs):
    start = time.perf_counter()
    it = edgepipe.Interpreter(path, num_threads=threads)
    for i, x in enumerate(inputs):
        it.set_input(i, x)
    it.invoke()
    first = time.perf_counter() - start
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        it.invoke()
        times.append(time.perf_counter() - t0)
    return first * 1e3, statistics.mean(times) * 1e3


def bench_litert(path, threads, inputs, runs):
    start = time.perf_counter()
    it = LiteRT(model_path=path, num_threads=threads)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    first = time.perf_counter() - start
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        it.invoke()
        times.append(time.perf_counter() - t0)
    return first * 1e3, statistics.mean(times) * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=DEFAULT_MODELS, help="directory of .tflite files")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--filter", default="", help="only models whose name contains this")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for path in sorted(glob.glob(os.path.join(args.models, "*.tflite"))):
        name = os.path.basename(path)[: -len(".tflite")]
        if args.filter not in name:
            continue
        ref = LiteRT(model_path=path)
        inputs = random_inputs(ref.get_input_details(), rng)
        for threads in (int(t) for t in args.threads.split(",")):
            ep_first, ep_mean = bench_edgepipe(path, threads, inputs, args.runs)
            rt_first, rt_mean = bench_litert(path, threads, inputs, args.runs)
            rows.append((name, threads, ep_first, rt_first, ep_first / rt_first, ep_mean, rt_mean, ep_mean / rt_mean))
            if not args.markdown:
                print(f"{name:40s} t={threads} load+first {ep_first:8.1f} vs {rt_first:8.1f} ms "
                      f"({ep_first / rt_first:4.2f}x)  mean {ep_mean:7.2f} vs {rt_mean:7.2f} ms "
                      f"({ep_mean / rt_mean:4.2f}x)", flush=True)
    if args.markdown:
        print("| model | threads | load+first edgepipe (ms) | load+first LiteRT (ms) | ratio | "
              f"mean of {args.runs} edgepipe (ms) | mean LiteRT (ms) | ratio |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r[0]} | {r[1]} | {r[2]:.1f} | {r[3]:.1f} | {r[4]:.2f} | {r[5]:.2f} | {r[6]:.2f} | {r[7]:.2f} |")


if __name__ == "__main__":
    main()
