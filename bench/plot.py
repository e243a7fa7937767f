#!/usr/bin/env python3
"""Charts of an `edgepipe bench --json` report, drawn with matplotlib.

One PNG with three panels:
  1. latency vs threads, one line per model (median, whisker from min to p90);
  2. latency per model variant (the precision variants side by side), one bar per
     thread count (median, whisker from min to p90), with the file size under each name;
  3. size vs accuracy vs latency: file size across, top-1 accuracy up (or the
     agreement with the reference, or the latency when neither was measured),
     the point's colour the median latency (each model at its fastest thread count).
The machine (CPU, cores, governor, versions) and the settings are the caption.

Run: python3 bench/plot.py bench.json --out bench.png   (`edgepipe bench --chart` runs it)
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    with open(path) as f:
        report = json.load(f)
    if not isinstance(report, dict) or "results" not in report or not report["results"]:
        raise ValueError(f"{path}: not an edgepipe bench report (no results)")
    return report


def short(name):
    return name[:-len(".tflite")] if name.endswith(".tflite") else name


def by_model(results):
    models = {}
    for r in results:
        models.setdefault(short(r["name"]), []).append(r)
    for rows in models.values():
        rows.sort(key=lambda r: r["threads"])
    return models


def caption(report):
    m = report.get("machine", {})
    s = report.get("settings", {})
    v = m.get("versions", {})
    cpu = m.get("cpu_model") or "unknown CPU"
    governor = m.get("governor") or "n/a"
    return (f"Machine: {cpu}, {m.get('cores', '?')} cores, governor {governor}, {m.get('kernel', '')}; "
            f"edgepipe {v.get('edgepipe', '?')}, OpenCV {v.get('opencv', '?')}.  "
            f"Settings: {s.get('runs', '?')} runs, {s.get('warmup', '?')} warm-up, input {s.get('input', '?')}"
            f"{', fp16 hint' if s.get('fp16_hint') else ''}"
            f"{'; accuracy on ' + os.path.basename(s['accuracy'].rstrip('/')) if s.get('accuracy') else ''}"
            f"{'; agreement with ' + os.path.basename(s['agreement']) if s.get('agreement') else ''}.")


def latency_vs_threads(ax, models):
    for name, rows in models.items():
        threads = [r["threads"] for r in rows]
        median = [r["latency"]["median_ms"] for r in rows]
        low = [r["latency"]["median_ms"] - r["latency"]["min_ms"] for r in rows]
        high = [r["latency"]["p90_ms"] - r["latency"]["median_ms"] for r in rows]
        ax.errorbar(threads, median, yerr=[low, high], marker="o", capsize=3, label=name)
    all_threads = sorted({r["threads"] for rows in models.values() for r in rows})
    ax.set_xticks(all_threads)
    ax.set_xlabel("threads")
    ax.set_ylabel("latency per inference (ms)")
    ax.set_title("Latency vs threads\n(median; bar from min to p90)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def latency_per_variant(ax, models):
    names = list(models)
    all_threads = sorted({r["threads"] for rows in models.values() for r in rows})
    width = 0.8 / max(1, len(all_threads))
    for k, t in enumerate(all_threads):
        xs, ys, errs = [], [], []
        for i, name in enumerate(names):
            row = next((r for r in models[name] if r["threads"] == t), None)
            if row is None:
                continue
            xs.append(i + (k - (len(all_threads) - 1) / 2) * width)
            ys.append(row["latency"]["median_ms"])
            errs.append((row["latency"]["median_ms"] - row["latency"]["min_ms"],
                         row["latency"]["p90_ms"] - row["latency"]["median_ms"]))
        yerr = [[e[0] for e in errs], [e[1] for e in errs]]
        bars = ax.bar(xs, ys, width, yerr=yerr, capsize=2, label=f"{t} thread{'s' if t > 1 else ''}")
        ax.bar_label(bars, fmt="%.1f", fontsize="x-small")
    labels = [f"{n}\n{models[n][0]['file_bytes'] / 1e6:.2f} MB" for n in names]
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(labels, rotation=20, ha="right", fontsize="small")
    ax.set_ylabel("median latency (ms)")
    ax.set_title("Latency per model variant\n(median; bar from min to p90)")
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small")


def size_accuracy_latency(fig, ax, models):
    rows = [min(rs, key=lambda r: r["latency"]["median_ms"]) for rs in models.values()]
    sizes = [r["file_bytes"] / 1e6 for r in rows]
    latency = [r["latency"]["median_ms"] for r in rows]
    if all("accuracy" in r for r in rows):
        ys, ylabel, what = [r["accuracy"]["top1"] for r in rows], "top-1 accuracy", "accuracy"
    elif all("agreement" in r for r in rows):
        ys = [r["agreement"]["value"] for r in rows]
        ylabel, what = f"agreement with {os.path.basename(rows[0]['agreement']['reference'])}", "agreement"
    else:
        ys, ylabel, what = latency, "median latency (ms)", "latency"
    points = ax.scatter(sizes, ys, c=latency, cmap="viridis", s=80, edgecolors="black")
    # Labels alternate above and below their points: precision variants of one model sit close together.
    for i, (name, r, x, y) in enumerate(zip(models, rows, sizes, ys)):
        ax.annotate(f"{name}\n{r['latency']['median_ms']:.2f} ms, {r['threads']} thread{'s' if r['threads'] > 1 else ''}",
                    (x, y), textcoords="offset points", xytext=(0, 10 if i % 2 == 0 else -26), ha="center",
                    fontsize="x-small")
    fig.colorbar(points, ax=ax, label="median latency (ms)")
    ax.margins(x=0.35)
    if what != "latency":
        ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("model file size (MB)")
    ax.set_ylabel(ylabel)
    ax.set_title(f"Size vs {what} vs latency" if what != "latency" else "Size vs latency")
    ax.grid(alpha=0.3)


def plot(report, out):
    models = by_model(report["results"])
    fig, axes = plt.subplots(1, 3, figsize=(18, 6))
    latency_vs_threads(axes[0], models)
    latency_per_variant(axes[1], models)
    size_accuracy_latency(fig, axes[2], models)
    fig.suptitle("edgepipe bench", fontsize="x-large")
    fig.text(0.5, 0.01, caption(report), ha="center", va="bottom", fontsize="small", wrap=True)
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("json", help="report written by `edgepipe bench --json`")
    parser.add_argument("--out", required=True, help="PNG file to write")
    args = parser.parse_args(argv)
    try:
        plot(load(args.json), args.out)
    except (OSError, ValueError, KeyError) as e:
        print(f"plot.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
