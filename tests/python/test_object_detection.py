"""Object detection decoders and tracking metrics, checked against their peers.

  * PostProcessedTensorsToDetectionsCalculator after our engine = LiteRT's
    TFLite_Detection_PostProcess outputs: traffic_model on the three traffic
    frames (LSTM state fed back through PreviousLoopbackCalculator, as LiteRT's
    state is fed back by hand) and ssd_mobilenet_v1_coco_quant on
    kite_and_cold.jpg — same count, classes, labels, scores and boxes;
  * tasks.ObjectDetector = `edgepipe run graphs/object_detection.pbtxt` on
    kite_and_cold.jpg, and = LiteRT on it and the traffic frames (300x300);
  * `edgepipe mot-eval` = py-motmetrics' golden values for the TUD-Campus and
    TUD-Stadtmitte files bundled with motmetrics (its own test pins them).

Without ../shared the detection tests skip, unless EDGEPIPE_REQUIRE_SHARED=1.
"""
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("EDGEPIPE_SHARED_DIR", REPO.parent / "shared"))
MODELS = SHARED / "models"
MEDIA = SHARED / "media"
CLI = REPO / "build" / "bin" / "edgepipe"


def require_shared():
    if not (MODELS / "zoo").is_dir() or not MEDIA.is_dir():
        if os.environ.get("EDGEPIPE_REQUIRE_SHARED") == "1":
            raise RuntimeError(f"EDGEPIPE_REQUIRE_SHARED=1 but {MODELS} or {MEDIA} is missing")
        pytest.skip(f"{SHARED} is absent (clone without ../shared); skipping")


def decoder_node(labels=""):
    label_option = f'label_map_path: "{labels}"' if labels else ""
    return f"""
      node {{ calculator: "PostProcessedTensorsToDetectionsCalculator" input_stream: "TENSORS:outputs"
              output_stream: "DETECTIONS:detections"
              options {{ [edgepipe.PostProcessedTensorsToDetectionsCalculatorOptions.ext] {{
                min_score_thresh: 0 {label_option} }} }} }}"""


def run_frames(config, images):
    """Feeds RGB images to graph input "frames" at 0, 1, 2 … s; returns the detections of each."""
    edgepipe = pytest.importorskip("edgepipe", reason="build the _edgepipe module and set PYTHONPATH")
    graph = edgepipe.Graph(config)
    results = []
    graph.observe("detections", lambda value, ts: results.append(value))
    graph.start()
    for k, image in enumerate(images):
        graph.add("frames", image, timestamp_us=k * 1_000_000)
    graph.close_all()
    graph.wait_until_done()
    return results


def assert_same_detections(ours, boxes, classes, scores, count, labels, where):
    n = int(count[0])
    assert n > 0, f"{where}: LiteRT found nothing"
    assert len(ours) == n, f"{where}: {len(ours)} detections vs LiteRT's {n}"
    for k, d in enumerate(ours):
        ymin, xmin, ymax, xmax = boxes[0, k]
        assert d["label_id"] == int(classes[0, k]), f"{where} #{k}"
        if labels:
            assert d["label"] == labels[int(classes[0, k])], f"{where} #{k}"
        np.testing.assert_allclose(d["score"], scores[0, k], atol=1e-6, err_msg=f"{where} #{k}")
        np.testing.assert_allclose([d["xmin"], d["ymin"], d["width"], d["height"]],
                                   [xmin, ymin, xmax - xmin, ymax - ymin], atol=1e-4, err_msg=f"{where} #{k}")


def test_traffic_model_detections_match_litert_with_state_fed_back():
    require_shared()
    litert = pytest.importorskip("ai_edge_litert.interpreter", reason="pip install ai-edge-litert")
    edgepipe = pytest.importorskip("edgepipe", reason="build the _edgepipe module and set PYTHONPATH")
    model = MODELS / "traffic_model.tflite"
    frames = [edgepipe.read_image_rgb(str(MEDIA / f"traffic_000{i}.bmp")) for i in (1, 2, 3)]
    config = f"""
      input_stream: "frames"
      node {{ calculator: "ImageToTensorCalculator" input_stream: "IMAGE:frames" output_stream: "TENSOR:image"
              options {{ [edgepipe.ImageToTensorCalculatorOptions.ext] {{ output_type: UINT8 range_min: 0 range_max: 255 }} }} }}
      node {{ calculator: "PreviousLoopbackCalculator" input_stream: "MAIN:image" input_stream: "LOOP:lstm_c"
              input_stream_info {{ tag_index: "LOOP" back_edge: true }} output_stream: "PREV_LOOP:previous_c" }}
      node {{ calculator: "PreviousLoopbackCalculator" input_stream: "MAIN:image" input_stream: "LOOP:lstm_h"
              input_stream_info {{ tag_index: "LOOP" back_edge: true }} output_stream: "PREV_LOOP:previous_h" }}
      node {{ calculator: "InferenceCalculator"
              input_stream: "TENSOR:0:image" input_stream: "TENSOR:1:previous_c" input_stream: "TENSOR:2:previous_h"
              output_stream: "TENSORS:outputs" output_stream: "TENSOR:4:lstm_c" output_stream: "TENSOR:5:lstm_h"
              options {{ [edgepipe.InferenceCalculatorOptions.ext] {{ model_path: "{model}" num_threads: 1 }} }} }}
    """ + decoder_node()
    ours = run_frames(config, frames)
    assert len(ours) == 3

    ref = litert.Interpreter(model_path=str(model), num_threads=1)
    ref.allocate_tensors()
    inputs, outputs = ref.get_input_details(), ref.get_output_details()
    by_name = {d["name"]: d["index"] for d in outputs}
    state = {d["index"]: np.zeros(d["shape"], np.uint8) for d in inputs[1:]}
    for k, frame in enumerate(frames):
        ref.set_tensor(inputs[0]["index"], frame[None])
        for index, value in state.items():
            ref.set_tensor(index, value)
        ref.invoke()
        result = [ref.get_tensor(by_name[f"TFLite_Detection_PostProcess{s}"]) for s in ["", ":1", ":2", ":3"]]
        assert_same_detections(ours[k], *result, labels=None, where=f"traffic frame {k + 1}")
        for d in inputs[1:]:
            state[d["index"]] = ref.get_tensor(by_name[d["name"].replace("raw_inputs/init_", "raw_outputs/")]).copy()


def test_ssd_mobilenet_detections_on_kite_match_litert():
    require_shared()
    litert = pytest.importorskip("ai_edge_litert.interpreter", reason="pip install ai-edge-litert")
    edgepipe = pytest.importorskip("edgepipe", reason="build the _edgepipe module and set PYTHONPATH")
    model = MODELS / "zoo" / "ssd_mobilenet_v1_coco_quant.tflite"
    labels_path = MODELS / "coco_labels.txt"
    labels = labels_path.read_text().splitlines()
    image = edgepipe.read_image_rgb(str(MEDIA / "kite_and_cold.jpg"), 300, 300)
    config = f"""
      input_stream: "frames"
      node {{ calculator: "ImageToTensorCalculator" input_stream: "IMAGE:frames" output_stream: "TENSOR:image"
              options {{ [edgepipe.ImageToTensorCalculatorOptions.ext] {{
                output_width: 300 output_height: 300 keep_aspect_ratio: false
                output_type: UINT8 range_min: 0 range_max: 255 }} }} }}
      node {{ calculator: "InferenceCalculator" input_stream: "TENSOR:0:image" output_stream: "TENSORS:outputs"
              options {{ [edgepipe.InferenceCalculatorOptions.ext] {{ model_path: "{model}" num_threads: 1 }} }} }}
    """ + decoder_node(labels_path)
    ours = run_frames(config, [image])[0]

    ref = litert.Interpreter(model_path=str(model), num_threads=1)
    ref.allocate_tensors()
    ref.set_tensor(ref.get_input_details()[0]["index"], image[None])
    ref.invoke()
    result = [ref.get_tensor(d["index"]) for d in ref.get_output_details()]
    assert_same_detections(ours, *result, labels=labels, where="kite_and_cold.jpg")
    confident = {d["label"] for d in ours if d["score"] >= 0.5}
    assert {"person", "kite"} <= confident, confident


def litert_detections(model, image):
    """LiteRT's TFLite_Detection_PostProcess outputs (boxes, classes, scores, count) for one RGB image."""
    litert = pytest.importorskip("ai_edge_litert.interpreter", reason="pip install ai-edge-litert")
    ref = litert.Interpreter(model_path=str(model), num_threads=1)
    ref.allocate_tensors()
    ref.set_tensor(ref.get_input_details()[0]["index"], image[None])
    ref.invoke()
    return [ref.get_tensor(d["index"]) for d in ref.get_output_details()]


def test_object_detector_task_equals_the_cpp_graph_and_litert(tmp_path):
    """tasks.ObjectDetector (graphs/object_detection.pbtxt): on kite_and_cold.jpg the detections
    `edgepipe run` writes for that graph; on 300x300 images (no resize in the graph) LiteRT's."""
    require_shared()
    edgepipe = pytest.importorskip("edgepipe", reason="build the _edgepipe module and set PYTHONPATH")
    from edgepipe import tasks

    model = MODELS / "zoo" / "ssd_mobilenet_v1_coco_quant.tflite"
    labels = (MODELS / "coco_labels.txt").read_text().splitlines()
    kite = MEDIA / "kite_and_cold.jpg"
    json_path = tmp_path / "kite.jsonl"
    subprocess.run([str(CLI), "run", str(REPO / "graphs" / "object_detection.pbtxt"), "--input", str(kite),
                    "--side", f"json_path={json_path}"], check=True, cwd=REPO, capture_output=True, timeout=120)
    (line,) = [json.loads(text) for text in json_path.read_text().splitlines()]
    options = tasks.ObjectDetectorOptions(base_options=tasks.BaseOptions(model_asset_path=str(model)),
                                          labels_path=str(MODELS / "coco_labels.txt"))
    with tasks.ObjectDetector.create_from_options(options) as detector:
        (frame, _), = edgepipe.video.read_video(str(kite))  # the pixels `edgepipe run` decodes
        height, width = frame.shape[:2]
        got = [(d.categories[0].category_name, d.categories[0].score, d.bounding_box)
               for d in detector.detect(frame).detections]
        want = sorted(((d["label"], d["score"], tasks.BoundingBox(
            round(d["xmin"] * width), round(d["ymin"] * height), round(d["width"] * width), round(d["height"] * height)))
            for d in line["detections"]), key=lambda d: -d[1])
        assert got == want and {"person", "kite"} <= {name for name, _, _ in got}

        for name in ["kite_and_cold.jpg", "traffic_0001.bmp", "traffic_0002.bmp", "traffic_0003.bmp"]:
            image = edgepipe.read_image_rgb(str(MEDIA / name), 300, 300)
            ours = detector.detect(image).detections
            boxes, classes, scores, count = litert_detections(model, image)
            # The graph keeps min_score_thresh 0.5 (LiteRT's are sorted by score).
            theirs = [k for k in range(int(count[0])) if scores[0, k] >= 0.5]
            assert len(ours) == len(theirs) > 0, name
            for d, k in zip(ours, theirs):
                ymin, xmin, ymax, xmax = boxes[0, k] * 300
                assert (d.categories[0].index, d.categories[0].category_name) == (int(classes[0, k]),
                                                                                  labels[int(classes[0, k])]), name
                assert d.categories[0].score == pytest.approx(float(scores[0, k]), abs=1e-6), name
                box = d.bounding_box
                np.testing.assert_allclose([box.origin_x, box.origin_y, box.width, box.height],
                                           [xmin, ymin, xmax - xmin, ymax - ymin], atol=1.01, err_msg=name)


# motmetrics' test_motchallenge_files pins these (idf1, recall, precision, FP, misses, switches, MOTA).
MOTMETRICS_GOLDEN = {
    "TUD-Campus": (0.557659, 0.582173, 0.941441, 13, 150, 7, 0.526462),
    "TUD-Stadtmitte": (0.644619, 0.608997, 0.939920, 45, 452, 7, 0.564014),
}


@pytest.mark.parametrize("sequence", sorted(MOTMETRICS_GOLDEN))
def test_mot_eval_matches_motmetrics_golden_values(sequence):
    motmetrics = pytest.importorskip("motmetrics", reason="pip install motmetrics")
    if not CLI.exists():
        pytest.skip(f"{CLI} not built")
    data = Path(motmetrics.__file__).parent / "data" / sequence
    out = subprocess.run([str(CLI), "mot-eval", str(data / "gt.txt"), str(data / "test.txt"), "--json"],
                         capture_output=True, text=True, check=True).stdout
    m = json.loads(out)
    idf1, recall, precision, false_positives, misses, switches, mota = MOTMETRICS_GOLDEN[sequence]
    assert m["idf1"] == pytest.approx(idf1, abs=1e-5)
    assert m["recall"] == pytest.approx(recall, abs=1e-5)
    assert m["precision"] == pytest.approx(precision, abs=1e-5)
    assert (m["false_positives"], m["misses"], m["id_switches"]) == (false_positives, misses, switches)
    assert m["mota"] == pytest.approx(mota, abs=1e-5)
