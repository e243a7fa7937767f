"""People tracked with stable IDs through a video with edgepipe.tasks.ObjectTracker, results printed.

    python3 track_objects.py [VIDEO] [--model ssd_mobilenet_v1_coco_quant.tflite] [--max-frames N]
                             [--detection-fps 3] [--max-age 5]

One line per frame: the timestamp, "detector" when the detector ran on the
frame, and each track's ID, box (pixels) and score; at the end how many IDs
were given and how many frames the longest-lived one was seen.
"""
import argparse
import collections
import os

import edgepipe
from edgepipe import tasks

from _shared import MEDIA, MODELS


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", default=os.path.join(MEDIA, "vtest.avi"))
    parser.add_argument("--model", default=os.path.join(MODELS, "zoo", "ssd_mobilenet_v1_coco_quant.tflite"))
    parser.add_argument("--labels", default=os.path.join(MODELS, "coco_labels.txt"))
    parser.add_argument("--max-frames", type=int, default=0)
    parser.add_argument("--detection-fps", type=float, help="detector runs per second (default: the graph's)")
    parser.add_argument("--max-age", type=int, help="detector runs a lost track keeps its ID (default: the graph's)")
    args = parser.parse_args()

    options = tasks.ObjectTrackerOptions(base_options=tasks.BaseOptions(model_asset_path=args.model),
                                         running_mode=tasks.RunningMode.VIDEO, labels_path=args.labels,
                                         detection_fps=args.detection_fps, max_age=args.max_age)
    seen = collections.Counter()  # frames per track ID
    frames = 0
    with tasks.ObjectTracker.create_from_options(options) as tracker:
        for frame, timestamp_us in edgepipe.video.read_video(args.video, max_frames=args.max_frames):
            result = tracker.track_for_video(frame, timestamp_us // 1000)
            described = []
            for track in result.detections:
                box = track.bounding_box
                described.append(f"#{track.track_id}=({box.origin_x},{box.origin_y},{box.width},{box.height})"
                                 f":{track.categories[0].score:.2f}")
                seen[track.track_id] += 1
            ran = " detector" if result.detector_detections is not None else ""
            print(f"{result.timestamp_ms} ms{ran}: {len(result.detections)} track(s) " + " ".join(described))
            frames += 1
    longest = max(seen.values(), default=0)
    print(f"{frames} frames, {len(seen)} track IDs, longest seen on {longest} frames")


if __name__ == "__main__":
    main()
