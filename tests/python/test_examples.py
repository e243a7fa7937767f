"""The Python examples (examples/python/, issue 13 part 6) run from /tmp, as a
user would run them, on real media: face detection on a video printing its
results (equal to the C++ graph's face count), the live camera example (falls
back to the video behind the FlowLimiter), and the Python calculator filtering
detections inside the C++ graph.

Run: PYTHONPATH=<src>/python:<build>/python pytest tests/python/test_examples.py
Without ../shared the tests skip, unless EDGEPIPE_REQUIRE_SHARED=1.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "python"
SHARED = Path(os.environ.get("EDGEPIPE_SHARED_DIR", ROOT.parent / "shared"))
MEDIA = SHARED / "media"
CLI = Path(os.environ.get("EDGEPIPE_CLI", ROOT / "build" / "bin" / "edgepipe"))
TIMEOUT_S = 300

if not (MEDIA / "Megamind.avi").is_file():
    if os.environ.get("EDGEPIPE_REQUIRE_SHARED") == "1":
        raise RuntimeError(f"EDGEPIPE_REQUIRE_SHARED=1 but {MEDIA} is missing")
    pytest.skip(f"{MEDIA} is absent (clone without ../shared)", allow_module_level=True)
pytest.importorskip("edgepipe", reason="build the _edgepipe module and set PYTHONPATH")


def run_example(name, *args, cwd, expect_status=0):
    """Runs examples/python/NAME from `cwd` with this interpreter's PYTHONPATH (absolute); its stdout lines,
    or, when it is expected to fail, the finished process."""
    path = os.pathsep.join(str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)
    env = dict(os.environ, PYTHONPATH=path, EDGEPIPE_SHARED_DIR=str(SHARED))
    result = subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=TIMEOUT_S)
    assert result.returncode == expect_status, result.stderr
    return result.stdout.splitlines() if expect_status == 0 else result


def cli_face_counts(tmp_path, frames):
    json_path = tmp_path / "faces.jsonl"
    subprocess.run([str(CLI), "run", str(ROOT / "graphs" / "face_detection_video.pbtxt"), "--input",
                    str(MEDIA / "Megamind.avi"), "--max-frames", str(frames), "--side", f"json_path={json_path}"],
                   check=True, cwd=ROOT, capture_output=True, timeout=TIMEOUT_S)
    return [len(json.loads(line)["detections"]) for line in json_path.read_text().splitlines()]


@pytest.fixture
def tmp_dir(tmp_path):
    assert str(tmp_path).startswith("/tmp"), "the examples must run from outside the repository"
    return tmp_path


def test_face_detection_video_prints_the_graphs_results(tmp_dir):
    lines = run_example("face_detection_video.py", "--max-frames", "30", cwd=tmp_dir)
    counts = [int(re.match(r"\d+ ms: (\d+) face", line).group(1)) for line in lines[:-1]]
    assert counts == cli_face_counts(tmp_dir, 30)
    assert lines[-1] == f"30 frames, {sum(counts)} faces"


def test_live_camera_without_a_camera_fails_naming_the_video_fallback(tmp_dir):
    assert not Path("/dev/video97").exists()
    result = run_example("live_camera.py", "--camera", "97", cwd=tmp_dir, expect_status=2)
    assert "no camera 97" in result.stderr and "--video" in result.stderr
    assert result.stdout == ""


def test_live_camera_sends_a_video_as_a_camera_behind_a_flow_limiter(tmp_dir):
    lines = run_example("live_camera.py", "--video", str(MEDIA / "Megamind.avi"), "--max-frames", "60", "--speed", "4",
                        cwd=tmp_dir)
    assert lines[0].startswith("sending ")
    sent, processed, dropped = map(int, re.match(r"(\d+) frames sent, (\d+) processed, (\d+) dropped",
                                                 lines[-1]).groups())
    assert sent == 60 and processed + dropped == sent and processed >= 1
    assert len(lines) == processed + 2  # one line per processed frame


def test_python_calculator_filters_detections(tmp_dir):
    output = tmp_dir / "kept.avi"
    lines = run_example("filter_detections.py", "--max-frames", "30", "--min-score", "0.9", "--min-width", "0.2",
                        "--output", str(output), cwd=tmp_dir)
    per_frame = [tuple(map(int, re.match(r"\d+ ms: (\d+) found, (\d+) kept", line).groups())) for line in lines[:-1]]
    assert [found for found, _ in per_frame] == cli_face_counts(tmp_dir, 30)
    assert all(kept <= found for found, kept in per_frame)
    assert 0 < sum(kept for _, kept in per_frame)
    assert output.stat().st_size > 0


def test_track_objects_prints_the_graphs_track_ids(tmp_dir):
    lines = run_example("track_objects.py", "--max-frames", "30", cwd=tmp_dir)
    json_path = tmp_dir / "tracks.jsonl"
    subprocess.run([str(CLI), "run", str(ROOT / "graphs" / "object_detection_tracking.pbtxt"), "--input",
                    str(MEDIA / "vtest.avi"), "--max-frames", "30", "--side", f"json_path={json_path}"],
                   check=True, cwd=ROOT, capture_output=True, timeout=TIMEOUT_S)
    expected = [json.loads(line) for line in json_path.read_text().splitlines()]
    printed = [[int(i) for i in re.findall(r"#(\d+)=", line)] for line in lines[:-1]]
    assert printed == [[t["track_id"] for t in line["tracks"]] for line in expected]
    assert [" detector:" in line for line in lines[:-1]] == ["detections" in line for line in expected]
    ids = {i for frame in printed for i in frame}
    assert lines[-1].startswith(f"30 frames, {len(ids)} track IDs") and ids
