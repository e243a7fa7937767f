"""ObjectTracker: objects detected a few times per second and followed on every
frame with stable IDs — a task MediaPipe Tasks does not have — on
graphs/object_detection_tracking.pbtxt (SSD MobileNet on `detection_fps`
frames per second, ObjectTrackerCalculator on every frame).

    options = ObjectTrackerOptions(
        base_options=BaseOptions(model_asset_path="ssd_mobilenet_v1_coco_quant.tflite"),
        running_mode=RunningMode.VIDEO, max_age=10)
    with ObjectTracker.create_from_options(options) as tracker:
        for frame, timestamp_us in edgepipe.video.read_video("vtest.avi"):
            for track in tracker.track_for_video(frame, timestamp_us // 1000).detections:
                print(track.track_id, track.categories[0].category_name, track.bounding_box)

Tracking needs a sequence of frames, so only the VIDEO and LIVE_STREAM running
modes exist; IMAGE raises ValueError (ObjectDetector detects in single images).
In LIVE_STREAM frames arriving while one is in flight are dropped; the tracker
then sees the frames it got, at their timestamps.
"""
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from edgepipe.tasks._runner import DetectorTask, TaskGraph, labels_path_of, model_path_of, read_labels
from edgepipe.tasks.components import BaseOptions, Detection, RunningMode, detections_from_graph


@dataclass
class ObjectTrackerOptions:
    """MediaPipe-style options of the detector, plus the tracker's.

    score_threshold, max_results (-1: all) and category_allowlist / category_denylist
    (label names, mutually exclusive) as ObjectDetectorOptions'. The lists choose what the
    detector passes to the tracker (None: the graph's, people); score_threshold and
    max_results only filter the result (tracks keep the score of their last matched
    detection; the tracker's own thresholds are tracker_options). Labels come from
    labels_path (default: coco_labels.txt next to the model or in its parent directory,
    else the graph's label map).

    Tracker options, None = the graph's value: detection_fps (detector runs per second of
    video), min_hits (detections a track needs before it gets an ID), max_age (detector
    runs a lost track keeps its ID), and tracker_options {field: value} for any other
    ObjectTrackerCalculatorOptions field (calculators/vision/object_tracker_calculator.proto),
    e.g. {"match_iou": 0.3, "use_optical_flow": False}.
    """

    base_options: BaseOptions
    running_mode: RunningMode = RunningMode.VIDEO
    display_names_locale: Optional[str] = None
    max_results: int = -1
    score_threshold: float = 0.0
    category_allowlist: Optional[List[str]] = None
    category_denylist: Optional[List[str]] = None
    labels_path: Optional[str] = None
    detection_fps: Optional[float] = None
    min_hits: Optional[int] = None
    max_age: Optional[int] = None
    tracker_options: Optional[Dict[str, Any]] = None
    result_callback: Optional[Callable[["ObjectTrackerResult", object, int], None]] = None


@dataclass
class TrackedDetection(Detection):
    """A Detection (box from the tracker, category of its last matched detection) with its track_id:
    1, 2, … in order of confirmation, the same for an object as long as it is tracked."""

    track_id: int = -1


@dataclass
class ObjectTrackerResult:
    """detections: the tracks on this frame, by track_id. detector_detections: what the detector
    found on this frame (before tracking), or None when it did not run on this frame."""

    detections: List[TrackedDetection]
    detector_detections: Optional[List[Detection]] = None
    timestamp_ms: Optional[int] = None


def _text_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


class ObjectTracker(DetectorTask):
    """Tracked objects with stable IDs, boxes (pixels), labels and scores, on every frame."""

    _options_class = ObjectTrackerOptions

    def __init__(self, options):
        if options.running_mode is RunningMode.IMAGE:
            raise ValueError("ObjectTracker follows objects across frames: use RunningMode.VIDEO (track_for_video) "
                             "or RunningMode.LIVE_STREAM (track_async); ObjectDetector detects in single images")
        if options.category_allowlist and options.category_denylist:
            raise ValueError("`category_allowlist` and `category_denylist` are mutually exclusive options.")
        self._options = options
        model_path = model_path_of(options)
        side_packets = {"model_path": model_path}
        labels_path = labels_path_of(model_path, options.labels_path)
        labels = None
        if labels_path:
            labels = read_labels(labels_path)
            side_packets["labels_path"] = labels_path
        if options.detection_fps is not None:
            if options.detection_fps <= 0:
                raise ValueError(f"detection_fps must be positive, not {options.detection_fps}")
            side_packets["detection_fps"] = float(options.detection_fps)
        overrides = {}
        allowed = self._allowed_labels(options, labels)
        if allowed is not None:
            overrides["PostProcessedTensorsToDetectionsCalculator"] = " ".join(
                f"allow_labels: {_text_value(label)}" for label in allowed)
        tracker = dict(options.tracker_options or {})
        for name in ("min_hits", "max_age"):
            if getattr(options, name) is not None:
                tracker[name] = int(getattr(options, name))
        if tracker:
            overrides["ObjectTrackerCalculator"] = " ".join(f"{k}: {_text_value(v)}" for k, v in tracker.items())
        self._task = TaskGraph("object_detection_tracking", ["tracks", "detections"], self._result,
                               options.running_mode, options.result_callback, side_packets=side_packets,
                               options=overrides)

    @staticmethod
    def _allowed_labels(options, labels):
        """The labels the detector keeps (None: the graph's list), from the allow- or denylist."""
        asked = options.category_allowlist or options.category_denylist
        if not asked:
            return None
        if labels is None:
            raise ValueError("category_allowlist / category_denylist need a label map: set labels_path")
        unknown = sorted(set(asked) - set(labels))
        if unknown:
            raise ValueError(f"unknown categories {unknown}: not in the label map")
        if options.category_allowlist:
            return list(dict.fromkeys(options.category_allowlist))
        denied = set(options.category_denylist)
        return [label for label in dict.fromkeys(labels) if label and label not in denied]

    def _result(self, values, frame, timestamp_us):
        options = self._options
        height, width = frame.shape[:2]
        label = lambda value: value.get("label") or None  # noqa: E731
        tracks = []
        for value in values.get("tracks") or []:
            detection = detections_from_graph([value], width, height, lambda _: label(value))[0]
            tracks.append(TrackedDetection(bounding_box=detection.bounding_box, categories=detection.categories,
                                           keypoints=detection.keypoints, track_id=value["track_id"]))
        tracks = [t for t in tracks if t.categories[0].score >= options.score_threshold]
        if options.max_results >= 0:
            kept = sorted(tracks, key=lambda t: -t.categories[0].score)[:options.max_results]
            tracks = sorted(kept, key=lambda t: t.track_id)
        found = values.get("detections")
        detector = None
        if found is not None:
            detector = [detections_from_graph([v], width, height, lambda _: label(v))[0] for v in found]
        return ObjectTrackerResult(detections=tracks, detector_detections=detector, timestamp_ms=timestamp_us // 1000)

    # This task's names for the running modes' calls (detect_for_video / detect_async work too).
    track_for_video = DetectorTask.detect_for_video
    track_async = DetectorTask.detect_async

    def detect(self, image):
        """Not available: tracking needs VIDEO or LIVE_STREAM (raises ValueError)."""
        raise ValueError("ObjectTracker has no IMAGE mode: use track_for_video or track_async")
