"""ImageClassifier, as MediaPipe Tasks' vision.ImageClassifier, on graphs/classification.pbtxt.

    with ImageClassifier.create_from_model_path("mobilenet_v2_1.0_224_quant.tflite") as classifier:
        top = classifier.classify(rgb_image).classifications[0].categories[0]
        print(top.category_name, top.score)
"""
from dataclasses import dataclass
from typing import Callable, List, Optional

import _edgepipe
from edgepipe.tasks._runner import DetectorTask, TaskGraph, model_path_of
from edgepipe.tasks.components import BaseOptions, Category, ClassificationResult, Classifications, RunningMode


@dataclass
class ImageClassifierOptions:
    """MediaPipe's ImageClassifierOptions. max_results None (or < 0) keeps every class;
    score_threshold drops classes scoring below it; category_allowlist / category_denylist
    (label names, mutually exclusive) filter the classes before max_results applies."""

    base_options: BaseOptions
    running_mode: RunningMode = RunningMode.IMAGE
    display_names_locale: Optional[str] = None
    max_results: Optional[int] = None
    score_threshold: Optional[float] = None
    category_allowlist: Optional[List[str]] = None
    category_denylist: Optional[List[str]] = None
    result_callback: Optional[Callable[[ClassificationResult, object, int], None]] = None


class ImageClassifier(DetectorTask):
    """Image classes (ImageNet MobileNets by default), best first."""

    _options_class = ImageClassifierOptions

    def __init__(self, options):
        if options.category_allowlist and options.category_denylist:
            raise ValueError("`category_allowlist` and `category_denylist` are mutually exclusive options.")
        self._options = options
        filtered = bool(options.category_allowlist or options.category_denylist)
        # The graph ranks and truncates; with a list the truncation waits until after the filter.
        top_k = 0 if filtered or options.max_results is None or options.max_results < 0 else options.max_results
        overrides = f"top_k: {top_k}"
        if options.score_threshold is not None:
            overrides += f" min_score_thresh: {float(options.score_threshold)}"
        model_path = model_path_of(options)
        # The graph resizes to 224×224; other MobileNets (e.g. 128×128) get their own input size.
        _, height, width, _ = _edgepipe.Interpreter(model_path).get_input_details()[0]["shape"]
        self._task = TaskGraph("classification", ["classifications"], self._result, options.running_mode,
                               options.result_callback, side_packets={"model_path": model_path},
                               options={"TensorsToClassificationsCalculator": overrides,
                                        "ImageResizeCalculator": f"width: {width} height: {height}"})

    def _result(self, values, frame, timestamp_us):
        options = self._options
        categories = [Category(index=c["index"], score=c["score"], display_name=None, category_name=c["label"] or None)
                      for c in values.get("classifications") or []]
        if options.category_allowlist:
            allowed = set(options.category_allowlist)
            categories = [c for c in categories if c.category_name in allowed]
        if options.category_denylist:
            denied = set(options.category_denylist)
            categories = [c for c in categories if c.category_name not in denied]
        if options.max_results is not None and options.max_results >= 0:
            categories = categories[:options.max_results]
        return ClassificationResult(classifications=[Classifications(categories=categories, head_index=0)],
                                    timestamp_ms=timestamp_us // 1000)

    # MediaPipe's names for this task.
    classify = DetectorTask.detect
    classify_for_video = DetectorTask.detect_for_video
    classify_async = DetectorTask.detect_async
