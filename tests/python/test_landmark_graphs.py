"""graphs/hand_landmarks.pbtxt and graphs/face_mesh.pbtxt (detection → ROI → landmarks on the
rotated crop → projected back) against MediaPipe 0.10.14's legacy solutions on real photos:
Hands (model_complexity=0: hand_landmark_lite) on squat.bmp, FaceMesh (refine_landmarks: the
attention model) on face.jpg. Landmarks come to Python as the JSON writer writes them.

Without ../shared the tests skip, unless EDGEPIPE_REQUIRE_SHARED=1 (MediaPipe is then required too).
"""
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("EDGEPIPE_SHARED_DIR", os.path.join(ROOT, "..", "shared"))
SQUAT = os.path.join(SHARED, "media", "squat.bmp")
FACE_JPG = os.path.join(SHARED, "media", "face.jpg")
REQUIRED = os.environ.get("EDGEPIPE_REQUIRE_SHARED") == "1"

for _path in (SQUAT, FACE_JPG, os.path.join(SHARED, "models", "zoo", "hand_landmark_lite.tflite")):
    if not os.path.exists(_path):
        if REQUIRED:
            raise RuntimeError(f"EDGEPIPE_REQUIRE_SHARED=1 but {_path} is missing")
        pytest.skip(f"{_path} is absent (clone without ../shared)", allow_module_level=True)

edgepipe = pytest.importorskip("edgepipe", reason="build the _edgepipe module and set PYTHONPATH")
if REQUIRED:
    import mediapipe as mp  # CI installs it (scripts/install-deps.sh)
else:
    mp = pytest.importorskip("mediapipe", reason="pip install mediapipe==0.10.14 (test-only peer)")


def run_graph(name, image_path, stream, models):
    graph = edgepipe.Graph.from_file(os.path.join(ROOT, "graphs", name))
    results = []
    graph.observe(stream, lambda value, ts: results.append(value))
    graph.run({"input_path": image_path, **{k: os.path.join(SHARED, "models", v) for k, v in models.items()}})
    assert len(results) == 1, f"{name} gave no {stream} on {image_path}"
    return np.array(results[0]["landmarks"])


def rgb(path):
    import cv2
    return cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)


def relative_errors(ours, want):
    size = (want.max(0) - want.min(0)).max()
    return np.linalg.norm(ours - want, axis=1) / size


def test_hand_landmarks_match_mediapipe_hands():
    image = rgb(SQUAT)
    h, w = image.shape[:2]
    with mp.solutions.hands.Hands(static_image_mode=True, model_complexity=0, max_num_hands=1) as hands:
        result = hands.process(image)
    assert result.multi_hand_landmarks, "MediaPipe finds no hand in squat.bmp"
    want = np.array([[p.x * w, p.y * h] for p in result.multi_hand_landmarks[0].landmark])
    ours = run_graph("hand_landmarks.pbtxt", SQUAT, "hand_landmarks",
                     {"model_path": "palm_detection_lite.tflite", "landmark_model_path": "zoo/hand_landmark_lite.tflite"})
    assert ours.shape == (21, 4)
    error = relative_errors(ours[:, :2] * [w, h], want)
    print(f"hand: mean {error.mean():.4f}, max {error.max():.4f} of the hand size")
    assert error.mean() < 0.005 and error.max() < 0.01


def test_face_mesh_matches_mediapipe_face_mesh():
    image = rgb(FACE_JPG)
    h, w = image.shape[:2]
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=1) as mesh:
        result = mesh.process(image)
    assert result.multi_face_landmarks, "MediaPipe finds no face in face.jpg"
    want = np.array([[p.x * w, p.y * h] for p in result.multi_face_landmarks[0].landmark])[:468]
    ours = run_graph("face_mesh.pbtxt", FACE_JPG, "face_landmarks",
                     {"model_path": "face_detection_short_range.tflite",
                      "landmark_model_path": "zoo/face_landmark_with_attention.tflite"})
    assert ours.shape == (468, 4)
    error = relative_errors(ours[:, :2] * [w, h], want)
    print(f"face mesh: mean {error.mean():.4f}, median {np.median(error):.4f}, max {error.max():.4f} of the face size")
    # MediaPipe replaces lips, eyes and irises by the model's refinement outputs, which this graph does not
    # merge: compare the bulk (median) tightly and every point loosely.
    assert np.median(error) < 0.005 and error.max() < 0.03
