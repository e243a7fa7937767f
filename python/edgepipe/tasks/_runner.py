"""The machinery every task shares: a ready graph adapted to take frames from
Python, and the three running modes on top of it.

IMAGE and VIDEO calls add the frame and wait until the graph is idle, so the
result of that frame is complete when the call returns. LIVE_STREAM hands the
frame to one worker thread that does the same and calls the result callback;
a frame submitted while the worker is still busy is dropped (MediaPipe's
FlowLimiter with one frame in flight and none queued).
"""
import os
import sys
import threading

import _edgepipe
from edgepipe._paths import graph_path
from edgepipe.tasks.components import RunningMode, as_array

# The nodes of a ready graph the tasks do not use: the file source (frames come
# from Python instead) and the outputs to files and windows.
_SOURCES = ["VideoFileSourceCalculator"]
_SINKS = ["AnnotationOverlayCalculator", "VideoWriterCalculator", "JsonLinesWriterCalculator", "WindowSinkCalculator",
          "MotTracksWriterCalculator"]
_INPUT = "frames"


def model_path_of(options):
    """options.base_options.model_asset_path, checked (MediaPipe requires it too)."""
    base = getattr(options, "base_options", None)
    path = getattr(base, "model_asset_path", None)
    if getattr(base, "model_asset_buffer", None) is not None:
        raise ValueError("model_asset_buffer is not supported; pass base_options.model_asset_path")
    if not path:
        raise ValueError("base_options.model_asset_path is required")
    if not os.path.exists(path):
        raise FileNotFoundError(f"model {path} not found")
    return path


def labels_path_of(model_path, labels_path=None, name="coco_labels.txt"):
    """labels_path, or `name` next to the model or in its parent directory (models/zoo/x.tflite
    beside models/coco_labels.txt); None when there is none. A labels_path given must exist."""
    if labels_path:
        if not os.path.exists(labels_path):
            raise FileNotFoundError(f"labels {labels_path} not found")
        return labels_path
    model_dir = os.path.dirname(os.path.abspath(model_path))
    candidates = [os.path.join(model_dir, name), os.path.join(os.path.dirname(model_dir), name)]
    return next((path for path in candidates if os.path.exists(path)), None)


def read_labels(path):
    """The label map at path, one label a line."""
    with open(path, encoding="utf-8") as lines:
        return [line.strip() for line in lines]


class TaskGraph:
    """A ready graph (graphs/NAME.pbtxt) fed frames from Python, its `outputs` observed.

    convert(values, frame, timestamp_us) turns {stream: value} of one frame into
    the task's result object.
    """

    # Per-node process times in graph.stats() (bench/tasks_vs_cli.py turns them on).
    enable_statistics = False

    def __init__(self, graph_name, outputs, convert, running_mode, result_callback=None, side_packets=None,
                 options=None):
        if not isinstance(running_mode, RunningMode):
            raise ValueError(f"running_mode must be a RunningMode, not {running_mode!r}")
        if running_mode is RunningMode.LIVE_STREAM and result_callback is None:
            raise ValueError("The LIVE_STREAM running mode needs a result_callback")
        if running_mode is not RunningMode.LIVE_STREAM and result_callback is not None:
            raise ValueError("result_callback is only for the LIVE_STREAM running mode")
        path = graph_path(graph_name)
        # Paths in the ready graphs' options are relative to the repository root.
        base_dir = os.path.dirname(os.path.dirname(path))
        text = _edgepipe.adapt_graph_config(path, inputs_from=_SOURCES, drop=_SINKS, options=options or {},
                                            base_dir=base_dir)
        if self.enable_statistics:
            text += "\nenable_statistics: true\n"
        self._graph = _edgepipe.Graph(text, path)
        self._convert = convert
        self._mode = running_mode
        self._callback = result_callback
        self._values = {}
        self._lock = threading.Lock()  # one frame through the graph at a time
        self._last_timestamp_us = None
        self._image_timestamp_us = 0
        self._closed = False
        self._closing = False
        self.dropped_frames = 0
        for stream in outputs:
            self._graph.observe(stream, self._observer(stream))
        self._graph.start(side_packets or {})
        self._worker = None
        if running_mode is RunningMode.LIVE_STREAM:
            self._pending = None
            self._busy = False
            self._wake = threading.Condition()
            self._worker = threading.Thread(target=self._live_loop, name=f"edgepipe-{graph_name}", daemon=True)
            self._worker.start()

    def _observer(self, stream):
        def observe(value, timestamp_us):
            self._values[stream] = value

        return observe

    def _run_frame(self, image, timestamp_us):
        frame = as_array(image)
        with self._lock:
            if self._closed:
                raise ValueError("the task is closed")
            if self._last_timestamp_us is not None and timestamp_us <= self._last_timestamp_us:
                raise ValueError(f"Input timestamp must be monotonically increasing: {timestamp_us} µs after "
                                 f"{self._last_timestamp_us} µs")
            self._last_timestamp_us = timestamp_us
            self._values = {}
            self._graph.add(_INPUT, frame, timestamp_us=timestamp_us)
            # One frame is a short wait: no helper thread per call (Ctrl-C still raises once it is done).
            self._graph.wait_until_idle(interruptible=False)
            values = self._values
        return self._convert(values, frame, timestamp_us)

    def _require(self, mode, call):
        if self._mode is not mode:
            raise ValueError(f"{call}() is for the {mode.name} running mode; this task was created with "
                             f"{self._mode.name}")

    def run_image(self, image):
        self._require(RunningMode.IMAGE, "detect")
        self._image_timestamp_us += 1
        return self._run_frame(image, self._image_timestamp_us)

    def run_video(self, image, timestamp_ms):
        self._require(RunningMode.VIDEO, "detect_for_video")
        return self._run_frame(image, int(timestamp_ms) * 1000)

    def run_async(self, image, timestamp_ms):
        self._require(RunningMode.LIVE_STREAM, "detect_async")
        timestamp_us = int(timestamp_ms) * 1000
        with self._wake:
            if self._closing:
                raise ValueError("the task is closed")
            if self._last_submitted is not None and timestamp_us <= self._last_submitted:
                raise ValueError(f"Input timestamp must be monotonically increasing: {timestamp_ms} ms")
            self._last_submitted = timestamp_us
            if self._busy or self._pending is not None:
                self.dropped_frames += 1
                return
            self._pending = (image, timestamp_us)
            self._wake.notify()

    _last_submitted = None

    def _live_loop(self):
        while True:
            with self._wake:
                while self._pending is None and not self._closing:
                    self._wake.wait()
                if self._pending is None:
                    return
                image, timestamp_us = self._pending
                self._pending = None
                self._busy = True
            try:
                result = self._run_frame(image, timestamp_us)
                self._callback(result, image, timestamp_us // 1000)
            except Exception:  # noqa: BLE001 - the callback's errors must not end the worker
                sys.excepthook(*sys.exc_info())
            finally:
                with self._wake:
                    self._busy = False
                    self._wake.notify_all()

    def wait_until_idle(self):
        """LIVE_STREAM: waits until the frame in flight (if any) has reached the callback."""
        if self._worker is None or threading.current_thread() is self._worker:
            return
        with self._wake:
            while self._busy or self._pending is not None:
                self._wake.wait()

    def close(self):
        """Finishes the graph (the frame in flight, if any, still reaches the callback)."""
        if self._worker is not None:
            with self._wake:
                if self._closing:
                    return
                self._closing = True  # no more frames; the pending one still runs
                self._wake.notify_all()
            if threading.current_thread() is not self._worker:
                self._worker.join()
        with self._lock:
            self._closed = True
        if threading.current_thread() is self._worker:
            self._graph.cancel()  # from the callback: the graph cannot be waited for here
            return
        self._graph.close_all()
        self._graph.wait_until_done()


class Task:
    """Base of the tasks: create_from_options / create_from_model_path, close, context manager."""

    _options_class = None

    def __init__(self, options):
        raise NotImplementedError

    @classmethod
    def create_from_options(cls, options):
        """The task for `options` (an instance of the task's Options class)."""
        return cls(options)

    @classmethod
    def create_from_model_path(cls, model_path):
        """The task in IMAGE mode with default options for the model at model_path."""
        from edgepipe.tasks.components import BaseOptions

        return cls(cls._options_class(base_options=BaseOptions(model_asset_path=model_path)))

    def close(self):
        """Finishes the graph; the task cannot be used afterwards."""
        self._task.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    @property
    def dropped_frames(self):
        """LIVE_STREAM: frames dropped because the previous one was still running."""
        return self._task.dropped_frames


class DetectorTask(Task):
    """The three running modes' calls, under MediaPipe's detector names (other tasks alias them)."""

    def detect(self, image):
        """IMAGE mode: the result for one image (an RGB numpy array or an Image)."""
        return self._task.run_image(image)

    def detect_for_video(self, image, timestamp_ms):
        """VIDEO mode: the result for one frame; timestamps must increase."""
        return self._task.run_video(image, timestamp_ms)

    def detect_async(self, image, timestamp_ms):
        """LIVE_STREAM mode: submits a frame; the result goes to result_callback(result, image, timestamp_ms).
        Dropped if the previous frame is still being processed."""
        self._task.run_async(image, timestamp_ms)
