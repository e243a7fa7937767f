"""MediaPipe Tasks-style APIs on edgepipe's ready graphs.

    from edgepipe import tasks
    options = tasks.FaceDetectorOptions(base_options=tasks.BaseOptions(model_asset_path=MODEL),
                                        running_mode=tasks.RunningMode.VIDEO)
    with tasks.FaceDetector.create_from_options(options) as detector:
        result = detector.detect_for_video(rgb_frame, timestamp_ms)

Options and results have MediaPipe Tasks' names, fields and defaults
(tasks.components). Each task runs the ready graph of graphs/ (its file source
replaced by frames from Python, its file outputs dropped) in the running mode
asked for: IMAGE (detect), VIDEO (detect_for_video) or LIVE_STREAM
(detect_async with result_callback; frames arriving while one is in flight are
dropped, as MediaPipe's are). ObjectTracker (detection + tracking with stable
IDs, VIDEO and LIVE_STREAM only) has no MediaPipe counterpart. `vision` is an
alias, for `from ... import vision`.
"""
from edgepipe.tasks.components import (  # noqa: F401
    BaseOptions,
    BoundingBox,
    Category,
    ClassificationResult,
    Classifications,
    Detection,
    DetectionResult,
    HandLandmarkerResult,
    Image,
    ImageFormat,
    ImageSegmenterResult,
    Landmark,
    NormalizedKeypoint,
    NormalizedLandmark,
    PoseLandmarkerResult,
    RunningMode,
)
from edgepipe.tasks.face_detector import FaceDetector, FaceDetectorOptions  # noqa: F401
from edgepipe.tasks.hand_landmarker import HandLandmarker, HandLandmarkerOptions  # noqa: F401
from edgepipe.tasks.image_classifier import ImageClassifier, ImageClassifierOptions  # noqa: F401
from edgepipe.tasks.image_segmenter import ImageSegmenter, ImageSegmenterOptions  # noqa: F401
from edgepipe.tasks.object_detector import ObjectDetector, ObjectDetectorOptions  # noqa: F401
from edgepipe.tasks.object_tracker import (  # noqa: F401
    ObjectTracker,
    ObjectTrackerOptions,
    ObjectTrackerResult,
    TrackedDetection,
)
from edgepipe.tasks.pose_landmarker import PoseLandmarker, PoseLandmarkerOptions  # noqa: F401

import sys as _sys

vision = _sys.modules[__name__]
