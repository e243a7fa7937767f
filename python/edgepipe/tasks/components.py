"""Options and result types with MediaPipe Tasks' names, fields and defaults.

MediaPipe's `mediapipe.tasks.python.components.containers` and
`BaseOptions`/`RunningMode` rebuilt as dataclasses, so that code written for
MediaPipe Tasks reads the same results here.
"""
import enum
import os
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np


class RunningMode(enum.Enum):
    """IMAGE: one call per image; VIDEO: frames with increasing timestamps;
    LIVE_STREAM: frames submitted asynchronously, results delivered to a callback
    (frames arriving while the previous one is still running are dropped)."""

    IMAGE = "IMAGE"
    VIDEO = "VIDEO"
    LIVE_STREAM = "LIVE_STREAM"


@dataclass
class BaseOptions:
    """Where the model is: model_asset_path (a .tflite file). model_asset_buffer is not supported."""

    model_asset_path: Optional[str] = None
    model_asset_buffer: Optional[bytes] = None
    delegate: Optional[str] = None  # accepted for compatibility; the engine runs on the CPU (XNNPACK)


class ImageFormat(enum.Enum):
    """Pixel formats of Image (MediaPipe's names)."""

    SRGB = "RGB"
    SRGBA = "RGBA"
    GRAY8 = "GRAY8"
    VEC32F1 = "VEC32F1"  # one float32 channel (confidence masks)


class Image:
    """An image as MediaPipe's mp.Image: Image(ImageFormat.SRGB, numpy_array) or
    Image.create_from_file(path). numpy_view() returns the pixels (no copy)."""

    def __init__(self, image_format, data):
        self.image_format = image_format
        self._data = data

    @classmethod
    def create_from_file(cls, path):
        """Decodes an image file to SRGB (OpenCV's decoder, as the graphs use)."""
        import _edgepipe

        if not os.path.exists(path):
            raise FileNotFoundError(path)
        frames = []
        graph = _edgepipe.Graph(
            'node { calculator: "ImageFileSourceCalculator" input_side_packet: "INPUT_PATH:path" '
            'output_stream: "IMAGE:frames" '
            'options { [edgepipe.ImageFileSourceCalculatorOptions.ext] { output_format: "RGB" } } }')
        graph.observe("frames", lambda value, ts: frames.append(value))
        graph.run({"path": path})
        return cls(ImageFormat.SRGB, frames[0])

    @property
    def width(self):
        return self._data.shape[1]

    @property
    def height(self):
        return self._data.shape[0]

    @property
    def channels(self):
        return 1 if self._data.ndim == 2 else self._data.shape[2]

    def numpy_view(self):
        """The pixels as a numpy array (read-only when it views a graph packet)."""
        return self._data


def as_array(image):
    """An Image or a numpy array as the uint8 RGB (or gray) array the graphs take."""
    if isinstance(image, Image):
        return image.numpy_view()
    if isinstance(image, np.ndarray):
        return image
    raise TypeError(f"expected an edgepipe.tasks.Image or a numpy array, got {type(image).__name__}")


@dataclass
class Category:
    """One class: index in the model's output, score, category_name (the label) and display_name."""

    index: Optional[int] = None
    score: Optional[float] = None
    display_name: Optional[str] = None
    category_name: Optional[str] = None


@dataclass
class BoundingBox:
    """A box in pixels of the input image."""

    origin_x: int
    origin_y: int
    width: int
    height: int


@dataclass
class NormalizedKeypoint:
    """A keypoint, x and y normalised to [0, 1] across the image."""

    x: float
    y: float
    label: Optional[str] = None
    score: Optional[float] = None


@dataclass
class Detection:
    bounding_box: BoundingBox
    categories: List[Category]
    keypoints: Optional[List[NormalizedKeypoint]] = None


@dataclass
class DetectionResult:
    detections: List[Detection]


@dataclass
class Classifications:
    categories: List[Category]
    head_index: int = 0
    head_name: Optional[str] = None


@dataclass
class ClassificationResult:
    classifications: List[Classifications]
    timestamp_ms: Optional[int] = None


@dataclass
class NormalizedLandmark:
    """A landmark, x and y normalised to the image, z in the same scale as x."""

    x: float
    y: float
    z: float = 0.0
    visibility: Optional[float] = None
    presence: Optional[float] = None


@dataclass
class Landmark:
    """A landmark in world coordinates (metres)."""

    x: float
    y: float
    z: float
    visibility: Optional[float] = None
    presence: Optional[float] = None


@dataclass
class ImageSegmenterResult:
    """confidence_masks: one VEC32F1 Image per class the model gives a probability for;
    category_mask: a GRAY8 Image of class indices."""

    confidence_masks: Optional[List[Image]] = None
    category_mask: Optional[Image] = None


@dataclass
class PoseLandmarkerResult:
    pose_landmarks: List[List[NormalizedLandmark]] = field(default_factory=list)
    pose_world_landmarks: List[List[Landmark]] = field(default_factory=list)
    segmentation_masks: Optional[List[Image]] = None


@dataclass
class HandLandmarkerResult:
    handedness: List[List[Category]] = field(default_factory=list)
    hand_landmarks: List[List[NormalizedLandmark]] = field(default_factory=list)
    hand_world_landmarks: List[List[Landmark]] = field(default_factory=list)


def detections_from_graph(values, width, height, label_of=None):
    """The graph's detection dicts (normalised) as MediaPipe Detections (boxes in pixels)."""
    detections = []
    for value in values or []:
        box = BoundingBox(origin_x=int(round(value["xmin"] * width)), origin_y=int(round(value["ymin"] * height)),
                          width=int(round(value["width"] * width)), height=int(round(value["height"] * height)))
        name = label_of(value["label_id"]) if label_of else None
        category = Category(index=value["label_id"], score=value["score"], display_name=None, category_name=name)
        keypoints = [NormalizedKeypoint(x=x, y=y) for x, y in value.get("keypoints", [])]
        detections.append(Detection(bounding_box=box, categories=[category], keypoints=keypoints))
    return detections


def landmarks_from_graph(value):
    """A graph landmark list {"landmarks": [[x, y, z, score], …]} as NormalizedLandmarks."""
    return [NormalizedLandmark(x=x, y=y, z=z, visibility=score, presence=score)
            for x, y, z, score in value["landmarks"]]
