"""FaceDetector, as MediaPipe Tasks' vision.FaceDetector, on graphs/face_detection_video.pbtxt.

    options = FaceDetectorOptions(base_options=BaseOptions(model_asset_path="face_detection_short_range.tflite"),
                                  running_mode=RunningMode.VIDEO)
    with FaceDetector.create_from_options(options) as detector:
        result = detector.detect_for_video(rgb_frame, timestamp_ms)
        for detection in result.detections:
            print(detection.bounding_box.origin_x, detection.categories[0].score)
"""
from dataclasses import dataclass
from typing import Callable, Optional

from edgepipe.tasks._runner import DetectorTask, TaskGraph, model_path_of
from edgepipe.tasks.components import BaseOptions, DetectionResult, RunningMode, detections_from_graph


@dataclass
class FaceDetectorOptions:
    """MediaPipe's FaceDetectorOptions: the model, the running mode, the score a face
    needs (min_detection_confidence) and the overlap above which boxes are merged
    (min_suppression_threshold); result_callback(result, image, timestamp_ms) for LIVE_STREAM."""

    base_options: BaseOptions
    running_mode: RunningMode = RunningMode.IMAGE
    min_detection_confidence: float = 0.5
    min_suppression_threshold: float = 0.3
    result_callback: Optional[Callable[[DetectionResult, object, int], None]] = None


class FaceDetector(DetectorTask):
    """Faces with boxes (pixels) and six keypoints (eyes, nose, mouth, ears), BlazeFace short range."""

    _options_class = FaceDetectorOptions

    def __init__(self, options):
        self._task = TaskGraph(
            "face_detection_video", ["detections"], self._result, options.running_mode, options.result_callback,
            side_packets={"model_path": model_path_of(options)},
            options={"TensorsToDetectionsCalculator": f"min_score_thresh: {float(options.min_detection_confidence)}",
                     "NonMaxSuppressionCalculator":
                         f"min_suppression_threshold: {float(options.min_suppression_threshold)}"})

    @staticmethod
    def _result(values, frame, timestamp_us):
        return DetectionResult(detections=detections_from_graph(values.get("detections"), frame.shape[1],
                                                                frame.shape[0]))
