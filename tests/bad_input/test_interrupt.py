"""Ctrl-C in `edgepipe run`: the first SIGINT cancels the graph, the nodes
are closed (so the video being written is finished and plays) and the exit
code is 130; the process never hangs and never dies with the signal.

The source plays the video in real time, so the run is still going when the
test interrupts it (after the first frames reached the output file).
"""
import os
import signal
import subprocess
import time

import pytest

from test_bad_input import CLI, VIDEO, require_shared

cv2 = pytest.importorskip("cv2", reason="pip install opencv-python-headless")

REALTIME_COPY = """node {
  calculator: "VideoFileSourceCalculator"
  input_side_packet: "INPUT_PATH:input_path"
  output_stream: "IMAGE:frames"
  options { [edgepipe.VideoFileSourceCalculatorOptions.ext] { realtime: true } }
}
node {
  calculator: "VideoWriterCalculator"
  input_stream: "IMAGE:frames"
  input_side_packet: "OUTPUT_PATH:output_path"
}
"""


def frames_in(path):
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    return count


def test_sigint_cancels_the_run_finishes_the_video_and_exits_130(tmp_path):
    require_shared(VIDEO)
    (tmp_path / "graph.pbtxt").write_text(REALTIME_COPY)
    output = tmp_path / "out.avi"
    process = subprocess.Popen([str(CLI), "run", "graph.pbtxt", "-i", str(VIDEO), "-o", str(output)], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Wait for the writer to have written frames (an event, not a duration: the deadline only bounds a failure).
        deadline = time.monotonic() + 60
        while not (output.exists() and output.stat().st_size > 100_000):
            assert process.poll() is None, f"run ended before it was interrupted: {process.communicate()}"
            assert time.monotonic() < deadline, "no frames written within 60 s"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("edgepipe run did not stop on SIGINT")
    assert process.returncode == 130, f"exit {process.returncode}:\n{stderr}"
    assert "interrupted by Ctrl-C" in stderr
    total = frames_in(VIDEO)
    written = frames_in(output)
    assert 0 < written < total, f"{written} of {total} frames in the interrupted output"
