"""The Python graph API: build a graph from text, feed values and numpy images, read results."""
import os

import numpy as np
import pytest

import edgepipe

SHARED = os.environ.get("EDGEPIPE_SHARED_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))


def test_counting_source_through_pass_through():
    graph = edgepipe.Graph("""
        node { calculator: "CountingSourceCalculator" output_stream: "n" input_side_packet: "NUM_PACKETS:count" }
        node { calculator: "PassThroughCalculator" input_stream: "n" output_stream: "out" }
        node { calculator: "PacketCounterCalculator" input_stream: "out" output_side_packet: "COUNT:total" }
    """)
    received = []
    graph.observe("out", lambda value, ts: received.append((value, ts)))
    graph.run({"count": 25})
    assert received == [(i, i) for i in range(25)]
    assert graph.side_packet("total") == 25
    assert any(row["calculator"] == "PassThroughCalculator" and row["process_calls"] == 25 for row in graph.stats())


def test_numpy_images_are_resized_by_a_calculator():
    graph = edgepipe.Graph("""
        input_stream: "frames"
        node {
          calculator: "ImageResizeCalculator"
          input_stream: "IMAGE:frames"
          output_stream: "IMAGE:small"
          options { [edgepipe.ImageResizeCalculatorOptions.ext] { width: 32 height: 24 } }
        }
    """)
    results = []
    graph.observe("small", lambda image, ts: results.append((image, ts)))
    graph.start()
    frame = np.zeros((48, 64, 3), dtype=np.uint8)
    frame[:, :, 0] = 200  # red in RGB
    for i in range(3):
        graph.add("frames", frame, timestamp_us=i * 33_333)
    graph.close_all()
    graph.wait_until_done()
    assert [ts for _, ts in results] == [0, 33_333, 66_666]
    image = results[0][0]
    assert image.shape == (24, 32, 3) and image.dtype == np.uint8
    assert int(image[12, 16, 0]) == 200 and int(image[12, 16, 1]) == 0


def test_errors_are_exceptions_with_the_cause():
    with pytest.raises(edgepipe.GraphError, match="did you mean \"PassThroughCalculator\""):
        edgepipe.Graph('input_stream: "a"\nnode { calculator: "PassThruCalculator" input_stream: "a" output_stream: "b" }')
    graph = edgepipe.Graph('input_stream: "a"\nnode { calculator: "PassThroughCalculator" input_stream: "a" output_stream: "b" }')
    graph.start()
    graph.add("a", 1, timestamp_us=10)
    with pytest.raises(edgepipe.GraphError, match="strictly increase"):
        graph.add("a", 2, timestamp_us=10)
    with pytest.raises(edgepipe.GraphError, match="cannot send a Python"):
        graph.add("a", object(), timestamp_us=20)
    graph.close_all()
    graph.wait_until_done()


def test_observer_exception_fails_the_run():
    graph = edgepipe.Graph("""
        node { calculator: "CountingSourceCalculator" output_stream: "n" }
    """)

    def explode(value, ts):
        raise ValueError("observer broke")

    graph.observe("n", explode)
    with pytest.raises(edgepipe.GraphError, match="observer broke"):
        graph.run()


def test_video_file_graph_from_python():
    video = os.path.join(SHARED, "media", "vtest.avi")
    if not os.path.exists(video):
        if os.environ.get("EDGEPIPE_REQUIRE_SHARED") == "1":
            pytest.fail(f"missing shared file {video}")
        pytest.skip(f"{video} is absent (clone without ../shared)")
    graph = edgepipe.Graph("""
        node {
          calculator: "VideoFileSourceCalculator"
          input_side_packet: "INPUT_PATH:path"
          input_side_packet: "MAX_FRAMES:frames"
          output_stream: "IMAGE:video"
        }
    """)
    stamps = []
    graph.observe("video", lambda image, ts: stamps.append((image.shape, ts)))
    graph.run({"path": video, "frames": "5"})
    assert [ts for _, ts in stamps] == [0, 100_000, 200_000, 300_000, 400_000]
    assert stamps[0][0] == (576, 768, 3)
