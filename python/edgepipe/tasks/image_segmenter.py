"""ImageSegmenter, as MediaPipe Tasks' vision.ImageSegmenter, on graphs/segmentation.pbtxt
(DeepLab: a class per pixel) or graphs/selfie_segmentation.pbtxt (a person probability
per pixel), chosen by the model's output channels.

    with ImageSegmenter.create_from_options(ImageSegmenterOptions(
            base_options=BaseOptions(model_asset_path="deeplabv3.tflite"), output_category_mask=True)) as segmenter:
        labels = segmenter.segment(rgb_image).category_mask.numpy_view()
"""
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

import _edgepipe
from edgepipe.tasks._runner import DetectorTask, TaskGraph, model_path_of
from edgepipe.tasks.components import BaseOptions, Image, ImageFormat, ImageSegmenterResult, RunningMode


@dataclass
class ImageSegmenterOptions:
    """MediaPipe's ImageSegmenterOptions. A class-per-pixel model (DeepLab) gives the
    category mask only (its per-class confidences are not kept by the graph); a
    probability model (selfie) gives one confidence mask and, if asked, the category
    mask (1 where the probability is at least 0.5)."""

    base_options: BaseOptions
    running_mode: RunningMode = RunningMode.IMAGE
    display_names_locale: Optional[str] = None
    output_confidence_masks: bool = True
    output_category_mask: bool = False
    result_callback: Optional[Callable[[ImageSegmenterResult, object, int], None]] = None


def _output_channels(model_path):
    interpreter = _edgepipe.Interpreter(model_path)
    shape = interpreter.get_output_details()[0]["shape"]
    return shape[-1] if len(shape) == 4 else 0


class ImageSegmenter(DetectorTask):
    """A mask per image: class indices (DeepLab) or a person probability (selfie segmentation)."""

    _options_class = ImageSegmenterOptions

    def __init__(self, options):
        self._options = options
        model_path = model_path_of(options)
        graph = "selfie_segmentation" if _output_channels(model_path) in (1, 2) else "segmentation"
        self._task = TaskGraph(graph, ["mask"], self._result, options.running_mode, options.result_callback,
                               side_packets={"model_path": model_path})

    def _result(self, values, frame, timestamp_us):
        mask = values.get("mask")
        result = ImageSegmenterResult()
        if mask is None:
            return result
        if mask["kind"] == "labels":
            if self._options.output_category_mask or not self._options.output_confidence_masks:
                result.category_mask = Image(ImageFormat.GRAY8, mask["mask"])
            self.labels = mask["labels"]
            return result
        if self._options.output_confidence_masks:
            result.confidence_masks = [Image(ImageFormat.VEC32F1, mask["mask"])]
        if self._options.output_category_mask:
            result.category_mask = Image(ImageFormat.GRAY8, (mask["mask"] >= 0.5).astype(np.uint8))
        return result

    labels = []

    # MediaPipe's names for this task.
    segment = DetectorTask.detect
    segment_for_video = DetectorTask.detect_for_video
    segment_async = DetectorTask.detect_async
