"""PoseLandmarker, as MediaPipe Tasks' vision.PoseLandmarker, on graphs/pose.pbtxt
(MoveNet Lightning: one person, 17 COCO keypoints rather than BlazePose's 33).

    with PoseLandmarker.create_from_model_path("movenet_single_pose_lightning_ptq.tflite") as landmarker:
        for landmark in landmarker.detect(rgb_image).pose_landmarks[0]:
            print(landmark.x, landmark.y, landmark.visibility)
"""
from dataclasses import dataclass
from typing import Callable, Optional

from edgepipe.tasks._runner import DetectorTask, TaskGraph, model_path_of
from edgepipe.tasks.components import BaseOptions, PoseLandmarkerResult, RunningMode, landmarks_from_graph

# MoveNet's keypoint order.
KEYPOINT_NAMES = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
                  "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                  "right_knee", "left_ankle", "right_ankle"]


@dataclass
class PoseLandmarkerOptions:
    """MediaPipe's PoseLandmarkerOptions. The model finds one person: num_poses above 1
    gives at most one. A pose is reported when its mean keypoint score is at least
    min_pose_presence_confidence; each landmark's score is its visibility and presence.
    The model has no world landmarks or segmentation (pose_world_landmarks stays empty)."""

    base_options: BaseOptions
    running_mode: RunningMode = RunningMode.IMAGE
    num_poses: int = 1
    min_pose_detection_confidence: float = 0.5
    min_pose_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    output_segmentation_masks: bool = False
    result_callback: Optional[Callable[[PoseLandmarkerResult, object, int], None]] = None


class PoseLandmarker(DetectorTask):
    """Body keypoints of one person (normalised to the image)."""

    _options_class = PoseLandmarkerOptions

    def __init__(self, options):
        if options.output_segmentation_masks:
            raise ValueError("output_segmentation_masks: the pose model gives no segmentation")
        self._options = options
        self._task = TaskGraph("pose", ["pose"], self._result, options.running_mode, options.result_callback,
                               side_packets={"model_path": model_path_of(options)})

    def _result(self, values, frame, timestamp_us):
        pose = values.get("pose")
        result = PoseLandmarkerResult()
        if pose is None or self._options.num_poses < 1:
            return result
        landmarks = landmarks_from_graph(pose)
        presence = sum(landmark.presence for landmark in landmarks) / max(len(landmarks), 1)
        if presence >= self._options.min_pose_presence_confidence:
            result.pose_landmarks.append(landmarks)
        return result
