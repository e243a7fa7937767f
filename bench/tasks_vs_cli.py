"""Per-frame cost of edgepipe.tasks.FaceDetector against the same graph from the CLI.

    PYTHONPATH=python:build/python python3 bench/tasks_vs_cli.py [--frames 200] [--repeats 5]

Both run graphs/face_detection_video.pbtxt on Megamind.avi with the model
loaded and warmed up:
- CLI: `edgepipe run ... --stats`, steady state per frame = (wall(N frames) -
  wall(10 frames)) / (N - 10), which cancels start-up and model loading; the
  --stats node times give the detection nodes' own work per frame.
- task: FaceDetector in VIDEO mode on the same frames, decoded beforehand (so
  decoding is not timed), detect_for_video per frame; the task graph's node
  stats give its nodes' work per frame.
The overhead of the task API is its wall time per frame minus the work of the
graph nodes it runs (ImageToTensor → Inference → TensorsToDetections → NMS →
letterbox removal): adding the frame, the scheduler, waiting for the result,
the observer taking the GIL and building the result objects. Target ≤ 50 µs.
The CLI's per-frame wall time, with decoding overlapping detection on the
second core, is printed for reference.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

import machine  # bench/machine.py: the machine line under each table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

import edgepipe  # noqa: E402
from edgepipe import tasks  # noqa: E402
from edgepipe.tasks._runner import TaskGraph  # noqa: E402

TaskGraph.enable_statistics = True  # node times, as the CLI's --stats measures them

SHARED = os.environ.get("EDGEPIPE_SHARED_DIR", os.path.join(os.path.dirname(ROOT), "shared"))
VIDEO = os.path.join(SHARED, "media", "Megamind.avi")
MODEL = os.path.join(SHARED, "models", "face_detection_short_range.tflite")
CLI = os.environ.get("EDGEPIPE_CLI", os.path.join(ROOT, "build", "bin", "edgepipe"))
DETECTION_NODES = {"ImageToTensorCalculator", "InferenceCalculator", "TensorsToDetectionsCalculator",
                   "NonMaxSuppressionCalculator", "DetectionLetterboxRemovalCalculator"}


def cli_run(frames):
    """(wall seconds, {calculator: median µs per call}) of one `edgepipe run` (--stats' p50_us column)."""
    start = time.perf_counter()
    result = subprocess.run([CLI, "run", os.path.join(ROOT, "graphs", "face_detection_video.pbtxt"), "--input", VIDEO,
                             "--max-frames", str(frames), "--side", f"model_path={MODEL}", "--stats", "--quiet"],
                            check=True, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    means = {}
    columns = None
    for line in result.stderr.splitlines():
        fields = line.split()
        if fields[:2] == ["node", "calculator"]:
            columns = fields
        elif columns and len(fields) == len(columns) and re.fullmatch(r"\S+Calculator", fields[1]):
            means[fields[1]] = means.get(fields[1], 0.0) + float(fields[columns.index("p50_us")])
    return wall, means


def task_run(frames):
    """(wall µs per frame, node work µs per frame) of FaceDetector.detect_for_video over `frames`."""
    options = tasks.FaceDetectorOptions(base_options=tasks.BaseOptions(model_asset_path=MODEL),
                                        running_mode=tasks.RunningMode.VIDEO)
    with tasks.FaceDetector.create_from_options(options) as detector:
        for frame, timestamp_us in frames[:10]:  # warm-up
            detector.detect_for_video(frame, timestamp_us // 1000)
        graph = detector._task._graph
        before = {row["node"]: row["process_time_us"] for row in graph.stats()}
        start = time.perf_counter()
        for i, (frame, _) in enumerate(frames):
            detector.detect_for_video(frame, 10_000 + i * 40)
        wall_us = (time.perf_counter() - start) * 1e6 / len(frames)
        node_us = sum(row["process_time_us"] - before.get(row["node"], 0) for row in graph.stats()
                      if row["calculator"] in DETECTION_NODES) / len(frames)
    return wall_us, node_us


def graph_run(frames):
    """(wall µs per frame, node work µs per frame) of the task's graph driven directly: add + wait_until_idle."""
    text = edgepipe.adapt_graph_config(
        edgepipe.graph_path("face_detection_video"), inputs_from=["VideoFileSourceCalculator"],
        drop=["AnnotationOverlayCalculator", "VideoWriterCalculator", "JsonLinesWriterCalculator"]) + \
        "\nenable_statistics: true\n"
    graph = edgepipe.Graph(text)
    graph.observe("detections", lambda value, timestamp_us: None)
    graph.start({"model_path": MODEL})
    for i, (frame, _) in enumerate(frames[:10]):
        graph.add("frames", frame, timestamp_us=i)
        graph.wait_until_idle(interruptible=False)
    before = {row["node"]: row["process_time_us"] for row in graph.stats()}
    start = time.perf_counter()
    for i, (frame, _) in enumerate(frames):
        graph.add("frames", frame, timestamp_us=100 + i)
        graph.wait_until_idle(interruptible=False)
    wall_us = (time.perf_counter() - start) * 1e6 / len(frames)
    node_us = sum(row["process_time_us"] - before.get(row["node"], 0) for row in graph.stats()) / len(frames)
    graph.close_all()
    graph.wait_until_done()
    return wall_us, node_us


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    frames = list(edgepipe.video.read_video(VIDEO, max_frames=args.frames))
    cli_per_frame, cli_nodes, task_wall, task_nodes, graph_wall, graph_nodes = [], [], [], [], [], []
    for _ in range(args.repeats):  # interleaved, so that a slow phase of the machine hits both
        short, _ = cli_run(10)
        long, means = cli_run(args.frames)
        cli_per_frame.append((long - short) * 1e6 / (args.frames - 10))
        cli_nodes.append(sum(v for k, v in means.items() if k in DETECTION_NODES))
        wall, nodes = task_run(frames)
        task_wall.append(wall)
        task_nodes.append(nodes)
        wall, nodes = graph_run(frames)
        graph_wall.append(wall)
        graph_nodes.append(nodes)
    overheads = [w - n for w, n in zip(task_wall, task_nodes)]
    graph_gaps = [w - n for w, n in zip(graph_wall, graph_nodes)]
    # What the task layer adds to the graph it runs: its gap beyond the graph's own gap, same frames.
    task_layer = [t - g for t, g in zip(overheads, graph_gaps)]
    med = statistics.median
    print(f"frames: {len(frames)} of {VIDEO}, {args.repeats} repeats, medians")
    print(f"CLI  edgepipe run: {med(cli_per_frame):8.1f} us/frame wall (decode overlapped), "
          f"detection nodes {med(cli_nodes):8.1f} us/frame (sum of p50s)")
    print(f"task detect_for_video: {med(task_wall):8.1f} us/frame wall, detection nodes {med(task_nodes):8.1f} us/frame")
    print(f"graph add+wait_until_idle: {med(graph_wall):8.1f} us/frame wall, nodes {med(graph_nodes):8.1f} us/frame")
    print(f"task API, wall - node work: {med(overheads):6.1f} us/frame (min {min(overheads):.1f}, max {max(overheads):.1f})")
    print(f"graph driven directly, wall - node work: {med(graph_gaps):6.1f} us/frame (the runtime's wake-ups, "
          "which a pipelined CLI run overlaps)")
    print(f"machine: {machine.describe()}")
    print(f"task layer (task gap - graph gap): {med(task_layer):6.1f} us/frame "
          f"(min {min(task_layer):.1f}, max {max(task_layer):.1f}; target <= 50)")


if __name__ == "__main__":
    main()
