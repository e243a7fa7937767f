"""edgepipe.tasks on real media (issue 13, part 5): FaceDetector's detections on
Megamind.avi equal the C++ graph's (`edgepipe run` with json_path), the
classifier's top-1 equals `edgepipe infer`'s, LIVE_STREAM drops frames while
the callback is busy, and every task runs on the media it is made for.

Run: PYTHONPATH=<src>/python:<build>/python pytest tests/python/test_tasks.py
Without ../shared the tests skip, unless EDGEPIPE_REQUIRE_SHARED=1.
"""
import faulthandler
import json
import os
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("EDGEPIPE_SHARED_DIR", ROOT.parent / "shared"))
MODELS = SHARED / "models"
MEDIA = SHARED / "media"
CLI = Path(os.environ.get("EDGEPIPE_CLI", ROOT / "build" / "bin" / "edgepipe"))

if not (MEDIA / "Megamind.avi").is_file():
    if os.environ.get("EDGEPIPE_REQUIRE_SHARED") == "1":
        raise RuntimeError(f"EDGEPIPE_REQUIRE_SHARED=1 but {MEDIA} is missing")
    pytest.skip(f"{MEDIA} is absent (clone without ../shared)", allow_module_level=True)

edgepipe = pytest.importorskip("edgepipe", reason="build the _edgepipe module and set PYTHONPATH")
from edgepipe import tasks  # noqa: E402

FRAMES = 40


@pytest.fixture(autouse=True)
def watchdog():
    faulthandler.dump_traceback_later(120, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def video_frames(path, max_frames):
    """(RGB frame, timestamp_us) decoded by the graphs' own source, as `edgepipe run` decodes them."""
    graph = edgepipe.Graph(
        'node { calculator: "VideoFileSourceCalculator" input_side_packet: "INPUT_PATH:path" '
        'input_side_packet: "MAX_FRAMES:max_frames" output_stream: "IMAGE:frames" '
        'options { [edgepipe.VideoFileSourceCalculatorOptions.ext] { output_format: "RGB" } } }')
    frames = []
    graph.observe("frames", lambda frame, ts: frames.append((frame, ts)))
    graph.run({"path": str(path), "max_frames": max_frames})
    return frames


def face_detector(mode, **options):
    return tasks.FaceDetector.create_from_options(tasks.FaceDetectorOptions(
        base_options=tasks.BaseOptions(model_asset_path=str(MODELS / "face_detection_short_range.tflite")),
        running_mode=mode, **options))


def test_face_detector_equals_the_cpp_graph_on_megamind(tmp_path):
    json_path = tmp_path / "faces.jsonl"
    subprocess.run([str(CLI), "run", str(ROOT / "graphs" / "face_detection_video.pbtxt"),
                    "--input", str(MEDIA / "Megamind.avi"), "--max-frames", str(FRAMES),
                    "--side", f"json_path={json_path}"], check=True, cwd=ROOT, capture_output=True)
    expected = [json.loads(line) for line in json_path.read_text().splitlines()]
    frames = video_frames(MEDIA / "Megamind.avi", FRAMES)
    assert len(frames) == len(expected) == FRAMES
    faces = 0
    with face_detector(tasks.RunningMode.VIDEO) as detector:
        for (frame, timestamp_us), line in zip(frames, expected):
            assert line["timestamp_us"] == timestamp_us
            result = detector.detect_for_video(frame, timestamp_us // 1000)
            height, width = frame.shape[:2]
            assert len(result.detections) == len(line["detections"])
            for got, want in zip(result.detections, line["detections"]):
                faces += 1
                assert got.categories[0].score == want["score"]  # the same graph on the same pixels: exact
                assert got.bounding_box == tasks.BoundingBox(
                    round(want["xmin"] * width), round(want["ymin"] * height),
                    round(want["width"] * width), round(want["height"] * height))
                assert [(k.x, k.y) for k in got.keypoints] == [tuple(k) for k in want["keypoints"]]
    assert faces >= FRAMES // 2  # Megamind's face is in most frames


def test_face_detector_options_and_modes():
    with face_detector(tasks.RunningMode.IMAGE) as detector:
        frame, default = next((frame, found) for frame, _ in video_frames(MEDIA / "Megamind.avi", 30)
                              if (found := detector.detect(frame).detections))
        with pytest.raises(ValueError, match="VIDEO running mode"):
            detector.detect_for_video(frame, 0)
    assert default
    with face_detector(tasks.RunningMode.IMAGE, min_detection_confidence=0.999) as strict:
        assert len(strict.detect(frame).detections) < len(default) or all(
            d.categories[0].score >= 0.999 for d in default)
    with face_detector(tasks.RunningMode.VIDEO) as detector:
        detector.detect_for_video(frame, 10)
        with pytest.raises(ValueError, match="monotonically increasing"):
            detector.detect_for_video(frame, 10)
    with pytest.raises(ValueError, match="model_asset_path"):
        tasks.FaceDetector.create_from_options(tasks.FaceDetectorOptions(base_options=tasks.BaseOptions()))
    with pytest.raises(ValueError, match="result_callback"):
        face_detector(tasks.RunningMode.LIVE_STREAM)


def test_live_stream_drops_frames_while_the_callback_is_busy():
    frames = video_frames(MEDIA / "Megamind.avi", 12)
    release = threading.Event()
    entered = threading.Event()
    delivered = []

    def on_result(result, image, timestamp_ms):
        delivered.append((timestamp_ms, len(result.detections)))
        entered.set()
        release.wait()  # a slow consumer: the worker stays busy until released

    detector = face_detector(tasks.RunningMode.LIVE_STREAM, result_callback=on_result)
    detector.detect_async(frames[0][0], 0)
    entered.wait()
    for i, (frame, _) in enumerate(frames[1:11], start=1):
        detector.detect_async(frame, i * 33)  # all arrive while frame 0 is in flight
    assert detector.dropped_frames == 10
    release.set()
    detector._task.wait_until_idle()
    detector.detect_async(frames[11][0], 11 * 33)  # idle again: accepted
    detector.close()
    assert [ts for ts, _ in delivered] == [0, 11 * 33]


def test_classifier_top1_equals_edgepipe_infer():
    model = MODELS / "mobilenet_v2_1.0_224_quant.tflite"
    image = MEDIA / "grace_hopper.bmp"
    infer = subprocess.run([str(CLI), "infer", str(model), "--input", str(image), "--json",
                            "--labels", str(MODELS / "imagenet_labels.txt")],
                           check=True, capture_output=True, text=True)
    outputs = json.loads(infer.stdout)["outputs"]
    tops = next(output["top"] for output in outputs if "top" in output)
    top = tops[0]
    options = tasks.ImageClassifierOptions(base_options=tasks.BaseOptions(model_asset_path=str(model)), max_results=3)
    with tasks.ImageClassifier.create_from_options(options) as classifier:
        result = classifier.classify(tasks.Image.create_from_file(str(image)))
    categories = result.classifications[0].categories
    assert len(categories) == 3
    assert (categories[0].index, categories[0].category_name) == (top["index"], top["label"])
    assert categories[0].score == pytest.approx(top["score"], abs=1e-6)
    assert [c.index for c in categories] == [t["index"] for t in tops[:3]]
    assert [c.score for c in categories] == pytest.approx([t["score"] for t in tops[:3]], abs=1e-6)
    denied = tasks.ImageClassifierOptions(base_options=tasks.BaseOptions(model_asset_path=str(model)),
                                          max_results=1, category_denylist=[top["label"]])
    with tasks.ImageClassifier.create_from_options(denied) as classifier:
        second = classifier.classify(tasks.Image.create_from_file(str(image))).classifications[0].categories
    assert [c.category_name for c in second] == [categories[1].category_name] == [tops[1]["label"]]


def test_segmenter_pose_and_hands_on_real_media():
    options = tasks.ImageSegmenterOptions(
        base_options=tasks.BaseOptions(model_asset_path=str(MODELS / "deeplabv3_mnv2_dm05_pascal_quant.tflite")),
        output_category_mask=True)
    dog = tasks.Image.create_from_file(str(MEDIA / "dog_segmentation_256.bmp"))
    with tasks.ImageSegmenter.create_from_options(options) as segmenter:
        mask = segmenter.segment(dog).category_mask.numpy_view()
        assert mask.shape == (dog.height, dog.width)
        assert "dog" in [segmenter.labels[i] for i in np.unique(mask)]
    selfie = tasks.ImageSegmenterOptions(
        base_options=tasks.BaseOptions(model_asset_path=str(MODELS / "zoo" / "selfie_segmentation.tflite")))
    with tasks.ImageSegmenter.create_from_options(selfie) as segmenter:
        person = segmenter.segment(tasks.Image.create_from_file(str(MEDIA / "grace_hopper.bmp")))
        probability = person.confidence_masks[0].numpy_view()
        assert probability.dtype == np.float32 and 0.2 < float((probability >= 0.5).mean()) < 0.9

    squat = tasks.Image.create_from_file(str(MEDIA / "squat.bmp"))
    with tasks.PoseLandmarker.create_from_model_path(str(MODELS / "movenet_single_pose_lightning_ptq.tflite")) as pose:
        landmarks = pose.detect(squat).pose_landmarks
    assert len(landmarks) == 1 and len(landmarks[0]) == 17
    assert all(0 <= p.x <= 1 and 0 <= p.y <= 1 for p in landmarks[0])

    hands = tasks.HandLandmarkerOptions(
        base_options=tasks.BaseOptions(model_asset_path=str(MODELS / "palm_detection_lite.tflite")))
    with tasks.HandLandmarker.create_from_options(hands) as landmarker:
        result = landmarker.detect(squat)
    assert all(len(hand) == 21 for hand in result.hand_landmarks)


def test_object_detector_needs_its_graph():
    if not (ROOT / "graphs" / "object_detection.pbtxt").exists():
        with pytest.raises(FileNotFoundError, match="object_detection"):
            tasks.ObjectDetector.create_from_model_path(str(MODELS / "zoo" / "ssd_mobilenet_v1_coco_quant.tflite"))
        return
    options = tasks.ObjectDetectorOptions(
        base_options=tasks.BaseOptions(model_asset_path=str(MODELS / "zoo" / "ssd_mobilenet_v1_coco_quant.tflite")),
        max_results=3, score_threshold=0.3, labels_path=str(MODELS / "coco_labels.txt"))
    with tasks.ObjectDetector.create_from_options(options) as detector:
        result = detector.detect(tasks.Image.create_from_file(str(MEDIA / "kite_and_cold.jpg")))
    assert 1 <= len(result.detections) <= 3
    assert all(d.categories[0].score >= 0.3 and d.categories[0].category_name for d in result.detections)
