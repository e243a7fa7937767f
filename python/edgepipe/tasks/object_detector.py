"""ObjectDetector, as MediaPipe Tasks' vision.ObjectDetector, on graphs/object_detection.pbtxt
(SSD MobileNet, COCO). Needs that ready graph; creating the task without it raises
FileNotFoundError.

    with ObjectDetector.create_from_options(ObjectDetectorOptions(
            base_options=BaseOptions(model_asset_path="ssd_mobilenet_v1_coco_quant.tflite"),
            max_results=5, score_threshold=0.5)) as detector:
        for d in detector.detect(rgb_image).detections:
            print(d.categories[0].category_name, d.bounding_box)
"""
from dataclasses import dataclass
from typing import Callable, List, Optional

from edgepipe.tasks._runner import DetectorTask, TaskGraph, labels_path_of, model_path_of, read_labels
from edgepipe.tasks.components import BaseOptions, DetectionResult, RunningMode, detections_from_graph


@dataclass
class ObjectDetectorOptions:
    """MediaPipe's ObjectDetectorOptions: max_results (-1: all), score_threshold,
    category_allowlist / category_denylist (label names, mutually exclusive).
    Labels are read from labels_path (default: coco_labels.txt next to the model or in its
    parent directory)."""

    base_options: BaseOptions
    running_mode: RunningMode = RunningMode.IMAGE
    display_names_locale: Optional[str] = None
    max_results: int = -1
    score_threshold: float = 0.0
    category_allowlist: Optional[List[str]] = None
    category_denylist: Optional[List[str]] = None
    labels_path: Optional[str] = None
    result_callback: Optional[Callable[[DetectionResult, object, int], None]] = None


class ObjectDetector(DetectorTask):
    """Objects with boxes (pixels), labels and scores, best first."""

    _options_class = ObjectDetectorOptions

    def __init__(self, options):
        if options.category_allowlist and options.category_denylist:
            raise ValueError("`category_allowlist` and `category_denylist` are mutually exclusive options.")
        self._options = options
        model_path = model_path_of(options)
        labels_path = labels_path_of(model_path, options.labels_path)
        self._labels = read_labels(labels_path) if labels_path else []
        side_packets = {"model_path": model_path}
        if labels_path:
            side_packets["labels_path"] = labels_path  # the graph's own label map is relative to the source tree
        self._task = TaskGraph("object_detection", ["detections"], self._result, options.running_mode,
                               options.result_callback, side_packets=side_packets)

    def _label(self, index):
        return self._labels[index] if 0 <= index < len(self._labels) else None

    def _result(self, values, frame, timestamp_us):
        options = self._options
        detections = detections_from_graph(values.get("detections"), frame.shape[1], frame.shape[0], self._label)
        detections = [d for d in detections if d.categories[0].score >= options.score_threshold]
        if options.category_allowlist:
            detections = [d for d in detections if d.categories[0].category_name in set(options.category_allowlist)]
        if options.category_denylist:
            detections = [d for d in detections if d.categories[0].category_name not in set(options.category_denylist)]
        detections.sort(key=lambda d: -d.categories[0].score)
        if options.max_results >= 0:
            detections = detections[:options.max_results]
        return DetectionResult(detections=detections)
