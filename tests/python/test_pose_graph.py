"""graphs/pose.pbtxt (MoveNet Lightning) on ../shared/media/squat.bmp, from Python: landmarks
arrive as dicts (the JSON writer's form), normalised to the photo, anatomically ordered.

Without ../shared the test skips, unless EDGEPIPE_REQUIRE_SHARED=1.
"""
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("EDGEPIPE_SHARED_DIR", os.path.join(ROOT, "..", "shared"))
SQUAT = os.path.join(SHARED, "media", "squat.bmp")
MODEL = os.path.join(SHARED, "models", "movenet_single_pose_lightning_ptq.tflite")

if not (os.path.exists(SQUAT) and os.path.exists(MODEL)):
    if os.environ.get("EDGEPIPE_REQUIRE_SHARED") == "1":
        raise RuntimeError(f"EDGEPIPE_REQUIRE_SHARED=1 but {SQUAT} or {MODEL} is missing")
    pytest.skip(f"{SQUAT} or {MODEL} is absent (clone without ../shared)", allow_module_level=True)

edgepipe = pytest.importorskip("edgepipe", reason="build the _edgepipe module and set PYTHONPATH")


def test_pose_on_squat(tmp_path):
    graph = edgepipe.Graph.from_file(os.path.join(ROOT, "graphs", "pose.pbtxt"))
    poses = []
    graph.observe("pose", lambda pose, ts: poses.append(pose))
    graph.run({"input_path": SQUAT, "model_path": MODEL, "json_path": str(tmp_path / "pose.jsonl")})
    assert len(poses) == 1
    points = poses[0]["landmarks"]
    assert len(points) == 17
    assert [0, 1] in poses[0]["connections"]
    confident = [p for p in points if p[3] > 0.3]
    assert len(confident) >= 12, points
    for x, y, _, score in confident:
        assert 0 <= x <= 1 and 0 <= y <= 1
    nose, hips, ankles = points[0], points[11:13], points[15:17]
    # A person standing or squatting: head above hips above ankles.
    assert nose[1] < min(h[1] for h in hips) < min(a[1] for a in ankles)
    assert (tmp_path / "pose.jsonl").read_text().count("\n") == 1
