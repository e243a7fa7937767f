"""Classification and segmentation in graphs, checked against LiteRT and MediaPipe.

  * classification (three MobileNets): the graph's top 5 (TensorsToClassifications
    on our engine's output) = LiteRT's top 5 on the same input tensor;
  * deeplab: the graph's label mask = LiteRT's ARG_MAX output on the same input
    (to the engine's known 0.2 % of near-tie pixels, see test_engine_vs_litert.py);
  * graphs/selfie_segmentation.pbtxt on an image vs MediaPipe's legacy
    mediapipe.solutions.selfie_segmentation (test-only peer, mediapipe==0.10.14):
    thresholded masks overlap with IoU ≥ 0.95;
  * the Python conversions: classifications as dicts, masks as numpy arrays.

Without ../shared the tests skip, unless EDGEPIPE_REQUIRE_SHARED=1.
"""
import json
import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("EDGEPIPE_SHARED_DIR", REPO.parent / "shared"))
MODELS = SHARED / "models"
MEDIA = SHARED / "media"

if not (MODELS / "zoo").is_dir() or not MEDIA.is_dir():
    if os.environ.get("EDGEPIPE_REQUIRE_SHARED") == "1":
        raise RuntimeError(f"EDGEPIPE_REQUIRE_SHARED=1 but {MODELS} or {MEDIA} is missing")
    pytest.skip(f"{SHARED} is absent (clone without ../shared); skipping the vision graph tests", allow_module_level=True)

edgepipe = pytest.importorskip("edgepipe", reason="build the _edgepipe module and set PYTHONPATH")
litert = pytest.importorskip("ai_edge_litert.interpreter", reason="pip install ai-edge-litert")


def run_on_image(config, image, streams):
    """Feeds one RGB image to the graph input "frames"; returns the first packet of each stream."""
    graph = edgepipe.Graph(config)
    results = {}
    for stream in streams:
        graph.observe(stream, lambda value, ts, stream=stream: results.setdefault(stream, value))
    graph.start()
    graph.add("frames", image, timestamp_us=0)
    graph.close_all()
    graph.wait_until_done()
    return results


def litert_outputs(model, tensor):
    interpreter = litert.Interpreter(model_path=str(model), num_threads=1)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor)
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]


@pytest.mark.parametrize("model_name,size", [("mobilenet_v2_1.0_224_quant.tflite", 224),
                                             ("tf2_mobilenet_v2_1.0_224_ptq.tflite", 224),
                                             ("mobilenet_v1_0.25_128_quant.tflite", 128)])
@pytest.mark.parametrize("image_name", ["parrot.jpg", "grace_hopper.bmp", "cat_720p.jpg"])
def test_classification_top5_matches_litert(model_name, size, image_name):
    model = MODELS / model_name
    labels = (MODELS / "imagenet_labels.txt").read_text().splitlines()
    image = edgepipe.read_image_rgb(str(MEDIA / image_name), size, size)
    config = f"""
      input_stream: "frames"
      node {{ calculator: "ImageToTensorCalculator" input_stream: "IMAGE:frames" output_stream: "TENSOR:tensor"
              options {{ [edgepipe.ImageToTensorCalculatorOptions.ext] {{ output_type: UINT8 range_min: 0 range_max: 255 }} }} }}
      node {{ calculator: "InferenceCalculator" input_stream: "TENSOR:0:tensor" output_stream: "TENSORS:scores"
              options {{ [edgepipe.InferenceCalculatorOptions.ext] {{ model_path: "{model}" num_threads: 1 }} }} }}
      node {{ calculator: "TensorsToClassificationsCalculator" input_stream: "TENSORS:scores"
              output_stream: "CLASSIFICATIONS:classes"
              options {{ [edgepipe.TensorsToClassificationsCalculatorOptions.ext] {{
                top_k: 5 label_map_path: "{MODELS / 'imagenet_labels.txt'}" }} }} }}
    """
    ours = run_on_image(config, image, ["classes"])["classes"]
    scores = litert_outputs(model, image[None])[0].reshape(-1).astype(np.int64)
    order = np.lexsort((np.arange(scores.size), -scores))[:5]  # by score, then lowest index
    # Dequantized like the calculator: scale × (q − zero point).
    interpreter = litert.Interpreter(model_path=str(model))
    scale, zero_point = interpreter.get_output_details()[0]["quantization"]
    assert [c["index"] for c in ours] == [int(i) for i in order]
    assert [c["label"] for c in ours] == [labels[i] for i in order]
    np.testing.assert_allclose([c["score"] for c in ours], scale * (scores[order] - zero_point), rtol=1e-6)
    if image_name == "parrot.jpg":
        assert ours[0]["label"] == "macaw"


def test_deeplab_mask_matches_litert_argmax():
    model = MODELS / "deeplabv3_mnv2_dm05_pascal_quant.tflite"
    image = edgepipe.read_image_rgb(str(MEDIA / "dog_segmentation_256.bmp"), 513, 513)
    config = f"""
      input_stream: "frames"
      node {{ calculator: "ImageToTensorCalculator" input_stream: "IMAGE:frames" output_stream: "TENSOR:tensor"
              options {{ [edgepipe.ImageToTensorCalculatorOptions.ext] {{ output_type: UINT8 range_min: 0 range_max: 255 }} }} }}
      node {{ calculator: "InferenceCalculator" input_stream: "TENSOR:0:tensor" output_stream: "TENSORS:outputs"
              options {{ [edgepipe.InferenceCalculatorOptions.ext] {{ model_path: "{model}" num_threads: 1 }} }} }}
      node {{ calculator: "TensorsToSegmentationCalculator" input_stream: "TENSORS:outputs" output_stream: "MASK:mask"
              options {{ [edgepipe.TensorsToSegmentationCalculatorOptions.ext] {{
                label_map_path: "{MODELS / 'pascal_voc_segmentation_labels.txt'}" }} }} }}
    """
    mask = run_on_image(config, image, ["mask"])["mask"]
    assert mask["kind"] == "labels" and mask["labels"][12] == "dog"
    ours = mask["mask"]
    assert ours.dtype == np.uint8 and ours.shape == (513, 513)
    want = litert_outputs(model, image[None])[0].reshape(513, 513)
    same = np.mean(ours == want)
    assert same >= 0.998, f"only {same:.4%} of the labels match LiteRT's"
    assert set(np.unique(ours)) <= {0, 12} and 0.4 < np.mean(ours == 12) < 0.7  # the dog and background


def test_selfie_segmentation_graph_matches_mediapipe(tmp_path):
    mediapipe = pytest.importorskip("mediapipe", reason="pip install mediapipe==0.10.14 (test-only peer)")
    image_path = MEDIA / "grace_hopper.bmp"
    graph = edgepipe.Graph.from_file(str(REPO / "graphs" / "selfie_segmentation.pbtxt"))
    masks = []
    graph.observe("mask", lambda value, ts: masks.append(value))
    json_path = tmp_path / "selfie.jsonl"
    graph.run({"input_path": str(image_path), "model_path": str(MODELS / "zoo" / "selfie_segmentation.tflite"),
               "output_path": str(tmp_path / "selfie.avi"), "json_path": str(json_path)})
    assert len(masks) == 1 and masks[0]["kind"] == "probability"
    ours = masks[0]["mask"]
    rgb = edgepipe.read_image_rgb(str(image_path))
    assert ours.shape == rgb.shape[:2] and ours.dtype == np.float32

    with mediapipe.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as segmenter:
        reference = segmenter.process(rgb).segmentation_mask
    ours_fg, reference_fg = ours >= 0.5, reference >= 0.5
    iou = np.logical_and(ours_fg, reference_fg).sum() / np.logical_or(ours_fg, reference_fg).sum()
    assert iou >= 0.95, f"IoU with MediaPipe's mask is {iou:.3f}"
    assert 0.3 < ours_fg.mean() < 0.9  # a portrait: the person covers much of the frame

    line = json.loads(json_path.read_text().splitlines()[0])
    assert line["timestamp_us"] == 0 and line["mask"]["kind"] == "probability"
    assert line["mask"]["foreground_fraction"] == pytest.approx(ours_fg.mean(), abs=1e-6)
