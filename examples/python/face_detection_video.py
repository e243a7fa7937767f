"""Face detection on a video with edgepipe.tasks.FaceDetector (MediaPipe Tasks' API), results printed.

    python3 face_detection_video.py [VIDEO] [--model face_detection_short_range.tflite] [--max-frames N]

One line per frame: the timestamp and each face's box (pixels), score and nose keypoint.
"""
import argparse
import os

import edgepipe
from edgepipe import tasks

from _shared import MEDIA, MODELS


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", default=os.path.join(MEDIA, "Megamind.avi"))
    parser.add_argument("--model", default=os.path.join(MODELS, "face_detection_short_range.tflite"))
    parser.add_argument("--max-frames", type=int, default=0)
    parser.add_argument("--min-confidence", type=float, default=0.5)
    args = parser.parse_args()

    options = tasks.FaceDetectorOptions(base_options=tasks.BaseOptions(model_asset_path=args.model),
                                        running_mode=tasks.RunningMode.VIDEO,
                                        min_detection_confidence=args.min_confidence)
    frames = faces = 0
    with tasks.FaceDetector.create_from_options(options) as detector:
        for frame, timestamp_us in edgepipe.video.read_video(args.video, max_frames=args.max_frames):
            result = detector.detect_for_video(frame, timestamp_us // 1000)
            described = []
            for detection in result.detections:
                box = detection.bounding_box
                nose = detection.keypoints[2]
                described.append(f"box=({box.origin_x},{box.origin_y},{box.width},{box.height}) "
                                 f"score={detection.categories[0].score:.3f} nose=({nose.x:.3f},{nose.y:.3f})")
            print(f"{timestamp_us // 1000} ms: {len(result.detections)} face(s) " + " ".join(described))
            frames += 1
            faces += len(result.detections)
    print(f"{frames} frames, {faces} faces")


if __name__ == "__main__":
    main()
