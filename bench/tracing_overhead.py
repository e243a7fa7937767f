#!/usr/bin/env python3
"""What observing a graph costs: `edgepipe bench-graph` with tracing off, with `--stats` and with `--trace`.

The pass-through chain (CountingSource -> N x PassThrough -> PacketCounter) is the worst case:
a hop costs ~0.1-0.2 us, so every clock read and trace event shows. The three settings run
alternately in one invocation (so a slow phase of the machine hits all of them) and the medians
are compared with tracing off. The trace file's otherData says how many events the bounded
buffers dropped when the writer thread could not keep up.

  python3 bench/tracing_overhead.py [--build build] [--nodes 10] [--packets 1000000] [--repeats 5]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile

import machine  # bench/machine.py: the machine line under each table


def bench_graph(binary, nodes, packets, extra):
    cmd = [binary, "bench-graph", "--nodes", str(nodes), "--packets", str(packets), *extra]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    binary = os.path.join(args.build, "bin", "edgepipe")
    with tempfile.TemporaryDirectory() as scratch:
        trace_path = os.path.join(scratch, "trace.json")
        settings = {"tracing off": [], "--stats": ["--stats"], "--trace": ["--trace", trace_path]}
        rates = {name: [] for name in settings}
        trace_info = {}
        for _ in range(args.repeats):
            for name, extra in settings.items():
                rates[name].append(bench_graph(binary, args.nodes, args.packets, extra)["packets_per_second"])
                if name == "--trace":
                    with open(trace_path) as f:
                        trace = json.load(f)
                    trace_info = {"written": sum(e["ph"] != "M" for e in trace["traceEvents"]),
                                  "overwritten": trace["otherData"]["overwritten_events"],
                                  "bytes": os.path.getsize(trace_path)}

    print(f"machine: {machine.describe()}")
    print(f"{args.nodes}-node pass-through chain, {args.packets:,} packets, median of {args.repeats} alternating runs")
    print("| setting | packets/s | us/hop | slowdown vs tracing off |")
    print("|---|---:|---:|---:|")
    base = statistics.median(rates["tracing off"])
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"| {name} | {rate:,.0f} | {1e6 / (rate * args.nodes):.3f} | {100 * (base / rate - 1):+.1f} % |")
    if trace_info:
        total = trace_info["written"] + trace_info["overwritten"]
        print(f"\nlast trace: {trace_info['written']:,} events written ({trace_info['bytes'] / 2**20:.1f} MiB), "
              f"{trace_info['overwritten']:,} of {total:,} overwritten in the bounded buffers")


if __name__ == "__main__":
    main()
