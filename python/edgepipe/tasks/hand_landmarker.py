"""HandLandmarker, as MediaPipe Tasks' vision.HandLandmarker, on graphs/hand_landmarks.pbtxt
(palm detection, then hand_landmark_lite on the best palm: one hand, 21 landmarks).

    options = HandLandmarkerOptions(base_options=BaseOptions(model_asset_path="palm_detection_lite.tflite"),
                                    landmark_model_asset_path="hand_landmark_lite.tflite")
    with HandLandmarker.create_from_options(options) as landmarker:
        hands = landmarker.detect(rgb_image).hand_landmarks
"""
import os
from dataclasses import dataclass
from typing import Callable, Optional

from edgepipe.tasks._runner import DetectorTask, TaskGraph, model_path_of
from edgepipe.tasks.components import BaseOptions, HandLandmarkerResult, RunningMode, landmarks_from_graph


@dataclass
class HandLandmarkerOptions:
    """MediaPipe's HandLandmarkerOptions. MediaPipe bundles both models in one .task file;
    here base_options.model_asset_path is the palm detector and landmark_model_asset_path
    the landmark model (default: hand_landmark_lite.tflite next to the palm model, or in
    its zoo/ directory). min_hand_detection_confidence is the palm score needed. One hand
    per image (num_hands above 1 gives at most one); handedness and world landmarks are
    not decoded by the graph and stay empty."""

    base_options: BaseOptions
    running_mode: RunningMode = RunningMode.IMAGE
    num_hands: int = 1
    min_hand_detection_confidence: float = 0.5
    min_hand_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    landmark_model_asset_path: Optional[str] = None
    result_callback: Optional[Callable[[HandLandmarkerResult, object, int], None]] = None


def _landmark_model(options, palm_model):
    if options.landmark_model_asset_path:
        return options.landmark_model_asset_path
    directory = os.path.dirname(palm_model)
    for candidate in (os.path.join(directory, "hand_landmark_lite.tflite"),
                      os.path.join(directory, "zoo", "hand_landmark_lite.tflite")):
        if os.path.exists(candidate):
            return candidate
    raise ValueError("landmark_model_asset_path is required (no hand_landmark_lite.tflite next to the palm model)")


class HandLandmarker(DetectorTask):
    """21 landmarks of the best hand (normalised to the image)."""

    _options_class = HandLandmarkerOptions

    def __init__(self, options):
        self._options = options
        palm_model = model_path_of(options)
        self._task = TaskGraph(
            "hand_landmarks", ["hand_landmarks"], self._result, options.running_mode, options.result_callback,
            side_packets={"model_path": palm_model, "landmark_model_path": _landmark_model(options, palm_model)},
            options={"TensorsToDetectionsCalculator":
                     f"min_score_thresh: {float(options.min_hand_detection_confidence)}"})

    def _result(self, values, frame, timestamp_us):
        result = HandLandmarkerResult()
        hand = values.get("hand_landmarks")
        if hand is not None and self._options.num_hands >= 1:
            result.hand_landmarks.append(landmarks_from_graph(hand))
        return result
