#!/usr/bin/env python3
"""Scheduler overhead: edgepipe's pass-through chain vs GStreamer's identity chain.

Runs, in the same invocation and alternating, `edgepipe bench-graph` and
`gst-launch-1.0 fakesrc num-buffers=P sizetype=empty ! identity x N ! fakesink sync=false`
(Debian's gstreamer1.0-tools), and prints packets/s, us per hop and the ratio.
Also runs a long per-node-executor chain to show memory stays flat.

  python3 bench/graph_vs_gstreamer.py [--build build] [--nodes 10] [--packets 1000000] [--repeats 3]
"""
import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time

import machine  # bench/machine.py: the machine line under each table


def run_edgepipe(binary, nodes, packets, per_node):
    cmd = [binary, "bench-graph", "--nodes", str(nodes), "--packets", str(packets)]
    if per_node:
        cmd.append("--executor-per-node")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def run_gstreamer(nodes, packets, queues):
    element = "queue max-size-buffers=0 max-size-bytes=0 max-size-time=0 ! identity" if queues else "identity"
    pipeline = ["fakesrc", f"num-buffers={packets}", "sizetype=empty"]
    for _ in range(nodes):
        pipeline += ["!"] + element.split()
    pipeline += ["!", "fakesink", "sync=false"]
    start = time.perf_counter()
    subprocess.run(["gst-launch-1.0", "-q", *pipeline], check=True, capture_output=True)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "packets_per_second": packets / seconds, "us_per_hop": seconds * 1e6 / (packets * nodes)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-packets", type=int, default=10_000_000,
                        help="packets for the flat-memory run (0 to skip)")
    args = parser.parse_args()
    binary = f"{args.build}/bin/edgepipe"
    if shutil.which("gst-launch-1.0") is None:
        sys.exit("gst-launch-1.0 not found: apt-get install gstreamer1.0-tools")

    rows = []
    for label, per_node, queues in (("one executor / one thread", False, False),
                                    ("a thread per node / deep queues", True, True)):
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(run_edgepipe(binary, args.nodes, args.packets, per_node))
            theirs.append(run_gstreamer(args.nodes, args.packets, queues))
        ep = statistics.median(r["packets_per_second"] for r in ours)
        gst = statistics.median(r["packets_per_second"] for r in theirs)
        rows.append((label, ep, gst, statistics.median(r["us_per_hop"] for r in ours),
                     statistics.median(r["us_per_hop"] for r in theirs)))

    print(f"machine: {machine.describe()}")
    print(f"{args.nodes}-node chain, {args.packets} packets, median of {args.repeats} alternating runs")
    print(f"| setup | edgepipe packets/s | GStreamer packets/s | ratio | edgepipe us/hop | GStreamer us/hop |")
    print(f"|---|---:|---:|---:|---:|---:|")
    for label, ep, gst, ep_hop, gst_hop in rows:
        print(f"| {label} | {ep:,.0f} | {gst:,.0f} | {ep / gst:.2f}x | {ep_hop:.3f} | {gst_hop:.3f} |")

    if args.memory_packets:
        result = run_edgepipe(binary, args.nodes, args.memory_packets, True)
        print(f"\nflat memory: {args.memory_packets:,} packets, a thread per node: RSS {result['rss_kb_before']} KiB "
              f"before, {result['rss_kb_after']} KiB after, max queue seen {result['max_queue_seen']}")


if __name__ == "__main__":
    main()
