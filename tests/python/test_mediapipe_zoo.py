"""MediaPipe models with MediaPipe custom operators (../shared/models/zoo).

- selfie_segmentation (Convolution2DTransposeBias): against LiteRT, which runs
  that op, float32 within 1e-4 absolute or relative.
- face_landmark_with_attention (Landmarks2TransformMatrix, TransformTensorBilinear,
  TransformLandmarks v2): LiteRT cannot run it. Checked two ways on face.jpg:
  * sanity: a fixed face crop gives a confident face flag and the mesh in the
    anatomical order (eyes above the nose above the mouth, irises inside the eyes);
  * against MediaPipe's own FaceMesh (refine_landmarks=True; test-only peer
    mediapipe==0.10.14, skipped when absent): MediaPipe's landmarks give the crop
    the way its landmarks-to-ROI step does (eye-corner rotation, box x1.5,
    square), our 478 refined landmarks are mapped back to the image, and the
    mean distance, overall and for each part the custom ops produce (lips, eyes,
    irises), must stay under 1 % of the face size (max under 4 %). The crop is
    not the one MediaPipe fed the model (it crops from its detector, with its own
    resampler), so the model sees a slightly shifted face. Measured on x86:
    0.46 % overall, lips 0.36 %, eyes 0.20 % of the 106 px face; with the
    TransformTensorBilinear sampling moved by one feature pixel (a wrong
    alignment), lips 1.6 %, eyes 2.2 %.

Without ../shared the tests skip, unless EDGEPIPE_REQUIRE_SHARED=1.
"""
import math
import os
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(os.environ.get("EDGEPIPE_SHARED_DIR", Path(__file__).resolve().parents[3] / "shared"))
ZOO = SHARED / "models" / "zoo"
FACE_JPG = SHARED / "media" / "face.jpg"

if not ZOO.is_dir() or not FACE_JPG.is_file():
    if os.environ.get("EDGEPIPE_REQUIRE_SHARED") == "1":
        raise RuntimeError(f"EDGEPIPE_REQUIRE_SHARED=1 but {ZOO} or {FACE_JPG} is missing")
    pytest.skip(f"{ZOO} or {FACE_JPG} is absent (clone without ../shared); skipping the MediaPipe zoo tests",
                allow_module_level=True)

edgepipe = pytest.importorskip("edgepipe", reason="build the _edgepipe module and set PYTHONPATH")

SELFIE = str(ZOO / "selfie_segmentation.tflite")
FACE_LANDMARK = str(ZOO / "face_landmark_with_attention.tflite")
CROP = 192  # face_landmark input size
# Mesh indices the refinement outputs replace (the subsets the model's own
# Landmarks2TransformMatrix ops crop around; MediaPipe's refinement spec).
LIPS = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409, 78, 95, 88, 178,
        87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415, 76, 77, 90, 180, 85, 16, 315, 404,
        320, 307, 306, 184, 74, 73, 72, 11, 302, 303, 304, 408, 62, 96, 89, 179, 86, 15, 316, 403, 319, 325, 292, 183,
        42, 41, 38, 12, 268, 271, 272, 407]
LEFT_EYE = [33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173, 130, 25, 110, 24, 23, 22, 26,
            112, 243, 247, 30, 29, 27, 28, 56, 190, 226, 31, 228, 229, 230, 231, 232, 233, 244, 113, 225, 224, 223,
            222, 221, 189, 35, 124, 46, 53, 52, 65, 143, 111, 117, 118, 119, 120, 121, 128, 245, 156, 70, 63, 105, 66,
            107, 55, 193]
RIGHT_EYE = [263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398, 359, 255, 339, 254, 253,
             252, 256, 341, 463, 467, 260, 259, 257, 258, 286, 414, 446, 261, 448, 449, 450, 451, 452, 453, 464, 342,
             445, 444, 443, 442, 441, 413, 265, 353, 276, 283, 282, 295, 372, 340, 346, 347, 348, 349, 350, 357, 465,
             383, 300, 293, 334, 296, 336, 285, 417]


def test_selfie_segmentation_matches_litert():
    litert = pytest.importorskip("ai_edge_litert.interpreter", reason="pip install ai-edge-litert")
    ours = edgepipe.Interpreter(SELFIE, num_threads=1)
    ref = litert.Interpreter(model_path=SELFIE, num_threads=1)
    ref.allocate_tensors()
    image = edgepipe.read_image_rgb(str(FACE_JPG), 256, 256)[None].astype(np.float32) / 255.0
    noise = np.random.default_rng(5).uniform(0.0, 1.0, (1, 256, 256, 3)).astype(np.float32)
    for name, value in (("face.jpg", image), ("noise", noise)):
        ref.set_tensor(ref.get_input_details()[0]["index"], value)
        ref.invoke()
        want = ref.get_tensor(ref.get_output_details()[0]["index"])
        ours.set_input(0, value)
        ours.invoke()
        got = ours.get_output(0)
        assert got.shape == want.shape
        diff = np.abs(got.astype(np.float64) - want)
        ok = (diff <= 1e-4) | (diff <= 1e-4 * np.abs(want))
        assert ok.all(), f"{name}: {np.count_nonzero(~ok)} mask values differ by more than 1e-4 (max {diff.max():.3g})"
    # The face image has a person in it: a real mask, not all zeros.
    ours.set_input(0, image)
    ours.invoke()
    assert 0.2 < (ours.get_output(0) > 0.5).mean() < 0.95


def run_face_landmark(image, center, size, angle):
    """Runs the model on the square crop (center, size px, rotated by angle rad),
    sampled bilinearly from the RGB image; returns the face flag logit and the
    478 refined landmarks in image pixels, as MediaPipe assembles them: the mesh,
    lips and eyes replaced by their refinement outputs, then the two irises."""
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -s], [s, c]])

    def crop_to_image(uv):
        return np.asarray(center) + ((np.asarray(uv, np.float64) + 0.5) / CROP - 0.5) * size @ rot.T

    v, u = np.mgrid[0:CROP, 0:CROP]
    xy = crop_to_image(np.stack([u, v], -1).reshape(-1, 2)) - 0.5  # pixel centers
    h, w = image.shape[:2]
    x0, y0 = np.floor(xy[:, 0]).astype(int), np.floor(xy[:, 1]).astype(int)
    fx, fy = (xy[:, 0] - x0)[:, None], (xy[:, 1] - y0)[:, None]
    img = image.astype(np.float32) / 255.0

    def at(y, x):
        inside = ((x >= 0) & (x < w) & (y >= 0) & (y < h))[:, None]
        return np.where(inside, img[np.clip(y, 0, h - 1), np.clip(x, 0, w - 1)], 0.0)

    crop = ((1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) +
            fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1)))
    ours = edgepipe.Interpreter(FACE_LANDMARK, num_threads=1)
    ours.set_input(0, crop.reshape(1, CROP, CROP, 3).astype(np.float32))
    ours.invoke()
    # Landmarks are in crop pixels (x, y from the top-left corner, not centers).
    back = lambda p: crop_to_image(np.asarray(p, np.float64) - 0.5)
    landmarks = ours.get_output(0).reshape(468, 3)[:, :2].copy()
    for k, indices in ((1, LIPS), (2, LEFT_EYE), (3, RIGHT_EYE)):
        landmarks[indices] = ours.get_output(k).reshape(-1, 2)
    landmarks = np.concatenate([landmarks, ours.get_output(4).reshape(5, 2), ours.get_output(5).reshape(5, 2)])
    assert np.isfinite(landmarks).all()
    assert ((landmarks >= 0) & (landmarks <= CROP)).all(), "landmarks leave the crop"
    return float(ours.get_output(6).ravel()[0]), back(landmarks)


def test_face_landmark_sanity_on_a_fixed_crop():
    image = edgepipe.read_image_rgb(str(FACE_JPG))
    # The face in face.jpg (512 x 355): a square of 158 px around (303.5, 117), level.
    flag, mesh = run_face_landmark(image, (303.5, 117.0), 158.0, 0.0)
    left_iris, right_iris = mesh[468:473], mesh[473:478]
    assert flag > 5.0, f"face flag logit {flag}: the model does not see a face"
    # Canonical mesh indices: 33/133 one eye's outer/inner corner, 362/263 the other's,
    # 1 nose tip, 0/17 upper/lower lip (outer), 152 chin, 10 forehead.
    eye_a, eye_b = mesh[[33, 133]], mesh[[362, 263]]
    assert eye_a[:, 0].max() < eye_b[:, 0].min(), "eyes are not side by side in order"
    eyes_y = mesh[[33, 133, 362, 263], 1].mean()
    assert mesh[10, 1] < eyes_y < mesh[1, 1] < mesh[0, 1] < mesh[17, 1] < mesh[152, 1], "vertical order"
    assert eye_a[:, 0].max() < mesh[1, 0] < eye_b[:, 0].min(), "nose tip is not between the eyes"
    # Iris centers (first point) lie between their eye's corners.
    assert eye_a[:, 0].min() < left_iris[0, 0] < eye_a[:, 0].max()
    assert eye_b[:, 0].min() < right_iris[0, 0] < eye_b[:, 0].max()


def test_face_landmark_matches_mediapipe_facemesh():
    if os.environ.get("EDGEPIPE_REQUIRE_SHARED") == "1":
        import mediapipe as mp  # CI installs it (scripts/install-deps.sh): a missing peer is a failure there
    else:
        mp = pytest.importorskip("mediapipe", reason="pip install mediapipe==0.10.14 (test-only peer)")
    image = edgepipe.read_image_rgb(str(FACE_JPG))
    h, w = image.shape[:2]
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=1) as mesh:
        result = mesh.process(np.ascontiguousarray(image))
    assert result.multi_face_landmarks, "MediaPipe finds no face in face.jpg"
    want = np.array([[p.x * w, p.y * h] for p in result.multi_face_landmarks[0].landmark])
    assert want.shape == (478, 2)
    # MediaPipe's landmarks-to-ROI: rotation levels landmarks 33 -> 263, the box of
    # all landmarks in that frame, scaled 1.5 and made square on its long side.
    d = want[263] - want[33]
    angle = math.atan2(d[1], d[0])
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    mean = want.mean(0)
    local = (want - mean) @ rot  # into the leveled frame
    lo, hi = local.min(0), local.max(0)
    center = mean + rot @ ((lo + hi) / 2)
    size = 1.5 * (hi - lo).max()
    flag, got = run_face_landmark(image, center, size, angle)
    assert flag > 5.0
    face = (want.max(0) - want.min(0)).max()
    dist = np.linalg.norm(got - want, axis=1) / face
    assert dist.mean() < 0.01 and dist.max() < 0.04, f"mean {dist.mean():.4f}, max {dist.max():.4f} of the face"
    # The parts the custom ops produce, each on its own.
    for name, indices in (("lips", LIPS), ("left eye", LEFT_EYE), ("right eye", RIGHT_EYE),
                          ("irises", list(range(468, 478)))):
        assert dist[indices].mean() < 0.01, f"{name} off by {dist[indices].mean():.4f} of the face size"
