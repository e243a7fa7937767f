#!/usr/bin/env python3
"""edgepipe's engine vs LiteRT (ai-edge-litert, XNNPACK on) on every shared model.

For each model and thread count (1 and 2) it measures:
  - load + first inference (model load, planning/compilation, first invoke), ms:
    the median over fresh processes (--load-runs, alternating the two engines),
    as an application starting up sees it; in one long-lived process the
    engine measured second would reuse the heap pages the first one freed;
  - mean latency, in this process, ms: after --warmup seconds of invokes, the
    engines take turns in --rounds blocks of N / rounds invokes; the median
    block mean is reported;
and prints the ratio edgepipe / LiteRT (< 1 means edgepipe is faster).

Run: PYTHONPATH=<src>/python:<build>/python python3 bench/engine_vs_litert.py [--runs 200] [--markdown]
     [--busy-core 1]   (another process keeps core 1 busy while the means are measured)
     [--isa avx2]      (cap our kernels' instruction set: how an AVX2-only CPU runs them; XNNPACK and
                        LiteRT still use everything this CPU has)
     [--backends XNNPACK,own-kernels]   (our backend list, e.g. without our conv kernels)
"""
import argparse
import glob
import multiprocessing
import os
import statistics
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np


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


# Our interpreter's backend list ("" = the default), from --backends.
EDGEPIPE_BACKENDS = ""


def load_edgepipe(path, threads, inputs):
    import edgepipe
    backends = [b for b in EDGEPIPE_BACKENDS.split(",") if b]
    start = time.perf_counter()
    it = edgepipe.Interpreter(path, num_threads=threads, backends=backends)
    for i, x in enumerate(inputs):
        it.set_input(i, x)
    it.invoke()
    return it, time.perf_counter() - start


def load_litert(path, threads, inputs):
    from ai_edge_litert.interpreter import Interpreter as LiteRT
    start = time.perf_counter()
    it = LiteRT(model_path=path, num_threads=threads)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return it, time.perf_counter() - start


LOADERS = {"edgepipe": load_edgepipe, "litert": load_litert}


def model_inputs(path):
    """Random inputs for the model, the same in every process (seeded by the file name)."""
    from ai_edge_litert.interpreter import Interpreter as LiteRT
    rng = np.random.default_rng(sum(os.path.basename(path).encode()))
    return random_inputs(LiteRT(model_path=path).get_input_details(), rng)


def child_load_first(engine, path, threads, inputs_file):
    """Child process: prints load + first inference in ms. The inputs come from
    the parent, so that neither engine has touched the model before the clock
    starts; the engine's module is imported before it."""
    with np.load(inputs_file) as saved:
        inputs = [saved[f"input{i}"] for i in range(len(saved.files))]
    if engine == "edgepipe":
        import edgepipe  # noqa: F401
    else:
        from ai_edge_litert.interpreter import Interpreter  # noqa: F401
    _, seconds = LOADERS[engine](path, threads, inputs)
    print(f"{seconds * 1e3:.4f}")


def load_first_in_fresh_process(engine, path, threads, inputs_file):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--backends", EDGEPIPE_BACKENDS,
                          "--child-load", engine, path, str(threads), inputs_file],
                         check=True, capture_output=True, text=True).stdout
    return float(out.split()[-1])


def bench_means(path, threads, inputs, runs, warmup_seconds, rounds):
    """Mean invoke latency per engine, in ms. The engines take turns in `rounds`
    blocks of runs / rounds invokes each and the median block mean is reported:
    the speed of this VM's second vCPU changes over seconds (both engines slow
    down together), and measuring one engine entirely before the other turned
    that into a ratio of up to 1.7 either way."""
    interpreters = {engine: LOADERS[engine](path, threads, inputs)[0] for engine in LOADERS}
    # Warm-up (as benchmark_model's warmup runs): an idle vCPU takes a while to
    # run at full speed again.
    for it in interpreters.values():
        end = time.perf_counter() + warmup_seconds
        while time.perf_counter() < end:
            it.invoke()
    block_means = {engine: [] for engine in interpreters}
    per_block = max(1, runs // rounds)
    for round_index in range(rounds):
        order = list(interpreters) if round_index % 2 == 0 else list(reversed(interpreters))
        for engine in order:
            it = interpreters[engine]
            start = time.perf_counter()
            for _ in range(per_block):
                it.invoke()
            block_means[engine].append((time.perf_counter() - start) / per_block)
    return {engine: statistics.median(means) * 1e3 for engine, means in block_means.items()}


def spin_forever(core):
    """A process that keeps one core busy, as another application would."""
    os.sched_setaffinity(0, {core})
    while True:
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=DEFAULT_MODELS, help="directory of .tflite files")
    parser.add_argument("--runs", type=int, default=200, help="timed invokes per engine")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--filter", default="", help="only models whose name contains this")
    parser.add_argument("--load-runs", type=int, default=5, help="fresh processes per load+first median")
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds of invokes before the timed ones")
    parser.add_argument("--rounds", type=int, default=10, help="blocks the timed invokes are split into, engines alternating")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--busy-core", type=int, default=-1,
                        help="keep this core busy with another process while measuring the means "
                             "(how each engine copes when an application shares the CPU)")
    parser.add_argument("--child-load", nargs=4, metavar=("ENGINE", "MODEL", "THREADS", "INPUTS"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--isa", default="", help="cap our kernels' instruction set (sets EDGEPIPE_ISA)")
    parser.add_argument("--backends", default="", help="our backend list, comma-separated (default: the CPU's)")
    args = parser.parse_args()
    global EDGEPIPE_BACKENDS
    EDGEPIPE_BACKENDS = args.backends
    if args.isa:
        os.environ["EDGEPIPE_ISA"] = args.isa  # children inherit it
    if args.child_load:
        child_load_first(args.child_load[0], args.child_load[1], int(args.child_load[2]), args.child_load[3])
        return
    rows = []
    scratch_dir = tempfile.mkdtemp(prefix="edgepipe_bench_")
    busy = None
    if args.busy_core >= 0:
        busy = multiprocessing.Process(target=spin_forever, args=(args.busy_core,), daemon=True)
        busy.start()
    for path in sorted(glob.glob(os.path.join(args.models, "*.tflite"))):
        name = os.path.basename(path)[: -len(".tflite")]
        if args.filter not in name:
            continue
        inputs = model_inputs(path)
        inputs_file = os.path.join(scratch_dir, "inputs.npz")
        np.savez(inputs_file, **{f"input{i}": x for i, x in enumerate(inputs)})
        for threads in (int(t) for t in args.threads.split(",")):
            firsts = {"edgepipe": [], "litert": []}
            for _ in range(args.load_runs):
                for engine in firsts:
                    firsts[engine].append(load_first_in_fresh_process(engine, path, threads, inputs_file))
            ep_first, rt_first = (statistics.median(firsts[e]) for e in ("edgepipe", "litert"))
            means = bench_means(path, threads, inputs, args.runs, args.warmup, args.rounds)
            ep_mean, rt_mean = means["edgepipe"], means["litert"]
            rows.append((name, threads, ep_first, rt_first, ep_first / rt_first, ep_mean, rt_mean, ep_mean / rt_mean))
            if not args.markdown:
                print(f"{name:40s} t={threads} load+first {ep_first:8.1f} vs {rt_first:8.1f} ms "
                      f"({ep_first / rt_first:4.2f}x)  mean {ep_mean:7.2f} vs {rt_mean:7.2f} ms "
                      f"({ep_mean / rt_mean:4.2f}x)", flush=True)
    shutil.rmtree(scratch_dir, ignore_errors=True)
    if busy is not None:
        busy.terminate()
    import edgepipe
    cpu = edgepipe.cpu_info()
    machine = (f"{cpu['name']} ({cpu['arch']}, {os.cpu_count()} cores), our kernels up to {cpu['isa_cap']}"
               f"{', backends ' + args.backends if args.backends else ''}")
    print(f"machine: {machine}")
    if args.markdown:
        print("| model | threads | load+first edgepipe (ms) | load+first LiteRT (ms) | ratio | "
              f"mean edgepipe (ms) | mean LiteRT (ms) | ratio |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r[0]} | {r[1]} | {r[2]:.1f} | {r[3]:.1f} | {r[4]:.2f} | {r[5]:.2f} | {r[6]:.2f} | {r[7]:.2f} |")


if __name__ == "__main__":
    main()
