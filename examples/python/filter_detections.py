"""A calculator written in Python filtering detections inside a C++ graph.

    python3 filter_detections.py [VIDEO] [--min-score 0.8] [--min-width 0.1] [--output faces.avi]

The ready face detection graph (graphs/face_detection_video.pbtxt) with a
Python node between the detector and the overlay: LargeFaceFilter keeps the
faces that are both confident and large. Prints, per frame, how many faces the
detector found and how many passed; with --output, writes the video with the
kept faces drawn.
"""
import argparse
import os

import edgepipe

from _shared import MEDIA, MODELS


@edgepipe.calculator("LargeFaceFilter")
class LargeFaceFilter(edgepipe.Calculator):
    """Keeps detections scoring at least MIN_SCORE and at least MIN_WIDTH wide (normalised)."""

    inputs = {"DETECTIONS": "detections"}
    outputs = {"DETECTIONS": "detections"}
    input_side_packets = {"MIN_SCORE": "float?", "MIN_WIDTH": "float?"}

    def open(self, ctx):
        self.min_score = ctx.side_packets.get("MIN_SCORE", 0.8)
        self.min_width = ctx.side_packets.get("MIN_WIDTH", 0.0)

    def process(self, ctx):
        detections = ctx.inputs["DETECTIONS"] or []
        kept = [d for d in detections if d["score"] >= self.min_score and d["width"] >= self.min_width]
        return {"DETECTIONS": kept}


# The graph's own nodes up to the detections, then the Python filter, the overlay and the writer.
FILTER_NODES = """
node {
  calculator: "LargeFaceFilter"
  input_stream: "DETECTIONS:detections"
  output_stream: "DETECTIONS:kept"
  input_side_packet: "MIN_SCORE:min_score"
  input_side_packet: "MIN_WIDTH:min_width"
}
node { calculator: "AnnotationOverlayCalculator" input_stream: "IMAGE:frames" input_stream: "DETECTIONS:kept"
       output_stream: "IMAGE:annotated" }
node { calculator: "VideoWriterCalculator" input_stream: "IMAGE:annotated" input_side_packet: "OUTPUT_PATH:output_path" }
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", default=os.path.join(MEDIA, "Megamind.avi"))
    parser.add_argument("--model", default=os.path.join(MODELS, "face_detection_short_range.tflite"))
    parser.add_argument("--min-score", type=float, default=0.8)
    parser.add_argument("--min-width", type=float, default=0.1)
    parser.add_argument("--max-frames", type=int, default=0)
    parser.add_argument("--output", default="", help="annotated video with the kept faces")
    args = parser.parse_args()

    config = edgepipe.adapt_graph_config(
        edgepipe.graph_path("face_detection_video"),
        drop=["AnnotationOverlayCalculator", "VideoWriterCalculator", "JsonLinesWriterCalculator"]) + FILTER_NODES
    graph = edgepipe.Graph(config, "face_detection_video + LargeFaceFilter")
    found, kept = {}, {}
    graph.observe("detections", lambda value, ts: found.__setitem__(ts, len(value)))
    graph.observe("kept", lambda value, ts: kept.__setitem__(ts, len(value)))
    side_packets = {"input_path": args.video, "model_path": args.model, "output_path": args.output,
                    "min_score": args.min_score, "min_width": args.min_width}
    if args.max_frames:
        side_packets["max_frames"] = args.max_frames
    graph.run(side_packets)
    for ts in sorted(found):
        print(f"{ts // 1000} ms: {found[ts]} found, {kept.get(ts, 0)} kept")
    print(f"{len(found)} frames, {sum(found.values())} faces found, {sum(kept.values())} kept")


if __name__ == "__main__":
    main()
