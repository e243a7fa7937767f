"""Reading a video's frames in Python with the graphs' own decoder.

    for frame, timestamp_us in edgepipe.video.read_video("clip.avi"):
        ...  # frame: a read-only HxWx3 uint8 RGB numpy array

The frames are what `edgepipe run` gives a graph (VideoFileSourceCalculator,
OpenCV's decoder, RGB), so results computed from them compare exactly with
the CLI's. Decoding runs on a graph thread, a few frames ahead.
"""
import queue
import threading

import _edgepipe

_SOURCE = ('node {{ calculator: "VideoFileSourceCalculator" input_side_packet: "INPUT_PATH:path" {max_frames}'
           'output_stream: "IMAGE:frames" '
           'options {{ [edgepipe.VideoFileSourceCalculatorOptions.ext] {{ output_format: "{format}" }} }} }}')


def read_video(path, max_frames=None, image_format="RGB", read_ahead=4):
    """Yields (frame, timestamp_us) for each frame of the video (or image) at `path`.

    Stopping the iteration early (break, close()) cancels the decoding."""
    config = _SOURCE.format(max_frames='input_side_packet: "MAX_FRAMES:max_frames" ' if max_frames else "",
                            format=image_format)
    graph = _edgepipe.Graph(config, path)
    frames = queue.Queue(maxsize=read_ahead)
    stop = threading.Event()
    end = object()

    def put(item):
        while not stop.is_set():
            try:
                frames.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    graph.observe("frames", lambda frame, timestamp_us: put((frame, timestamp_us)))
    side_packets = {"path": str(path)}
    if max_frames:
        side_packets["max_frames"] = int(max_frames)
    graph.start(side_packets)
    errors = []
    finisher = threading.Thread(target=lambda: (_wait(graph, errors), put(end)), daemon=True)
    finisher.start()
    try:
        while True:
            item = frames.get()
            if item is end:
                break
            yield item
    finally:
        stop.set()
        graph.cancel()
        finisher.join()
    if errors:
        raise errors[0]


def _wait(graph, errors):
    try:
        graph.wait_until_done()
    except _edgepipe.CancelledError:
        pass
    except _edgepipe.Error as error:  # re-raised by the generator
        errors.append(error)
