"""Live face detection from a camera behind a FlowLimiter (graphs/face_detection_camera.pbtxt).

    python3 live_camera.py [--camera 0] [--max-frames 150]
    python3 live_camera.py --video Megamind.avi [--speed 4]    # no camera: a video sent as a camera would

With a camera, the ready graph runs as it is: the camera source feeds a
FlowLimiterCalculator that lets one frame into the detector at a time and
drops the frames arriving meanwhile. Without one (no /dev/videoN, or it does
not open) the example stops with an error (exit status 2) naming the camera
and the --video fallback. With --video FILE the same graph's camera node is
replaced by the file's frames, sent at the video's frame rate (times --speed)
as a camera would, and the FlowLimiter drops what the detector cannot keep up
with. Prints each processed frame's faces and, at the end, how many frames
were dropped.
"""
import argparse
import glob
import os
import sys
import time

import edgepipe

from _shared import MEDIA, MODELS

SINKS = ["AnnotationOverlayCalculator", "VideoWriterCalculator", "JsonLinesWriterCalculator"]


def report(processed):
    def on_detections(detections, timestamp_us):
        processed.append(timestamp_us)
        scores = ", ".join(f"{d['score']:.2f}" for d in detections)
        print(f"{timestamp_us // 1000} ms: {len(detections)} face(s) [{scores}]")

    return on_detections


def run_camera(args, processed):
    config = edgepipe.adapt_graph_config(edgepipe.graph_path("face_detection_camera"), drop=SINKS)
    graph = edgepipe.Graph(config, "face_detection_camera")
    graph.observe("detections", report(processed))
    graph.run({"camera_index": args.camera, "max_frames": args.max_frames, "model_path": args.model})
    return None


def run_video_as_camera(args, processed):
    config = edgepipe.adapt_graph_config(edgepipe.graph_path("face_detection_camera"),
                                         inputs_from=["CameraSourceCalculator"], drop=SINKS)
    graph = edgepipe.Graph(config, "face_detection_camera (video as camera)")
    graph.observe("detections", report(processed))
    graph.start({"model_path": args.model})
    sent = 0
    start = time.monotonic()
    for frame, timestamp_us in edgepipe.video.read_video(args.video, max_frames=args.max_frames):
        # A camera delivers frames on its own clock, whether or not the detector is ready.
        delay = start + timestamp_us / 1e6 / args.speed - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        graph.add("camera_frames", frame, timestamp_us=timestamp_us)
        sent += 1
    graph.close_all()
    graph.wait_until_done()
    return sent


def camera_available(index):
    return bool(glob.glob(f"/dev/video{index}"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camera", type=int, default=0)
    parser.add_argument("--video", help="send this video file as a camera would, instead of a camera")
    parser.add_argument("--model", default=os.path.join(MODELS, "face_detection_short_range.tflite"))
    parser.add_argument("--max-frames", type=int, default=150)
    parser.add_argument("--speed", type=float, default=1.0, help="--video playback speed (4 = four times real time)")
    args = parser.parse_args()

    processed = []
    if args.video:
        if not os.path.exists(args.video):
            sys.exit(f"error: video {args.video} not found")
        print(f"sending {args.video} at {args.speed}x real time, as a camera would")
        sent = run_video_as_camera(args, processed)
        print(f"{sent} frames sent, {len(processed)} processed, {sent - len(processed)} dropped by the FlowLimiter")
        return
    fallback = f"pass --video FILE (e.g. --video {os.path.join(MEDIA, 'Megamind.avi')}) to run without a camera"
    if not camera_available(args.camera):
        print(f"error: no camera {args.camera} (/dev/video{args.camera} does not exist); {fallback}", file=sys.stderr)
        sys.exit(2)
    try:
        run_camera(args, processed)
    except edgepipe.Error as error:
        print(f"error: camera {args.camera} did not open ({error}); {fallback}", file=sys.stderr)
        sys.exit(2)
    print(f"camera {args.camera}: {len(processed)} frames processed")


if __name__ == "__main__":
    main()
