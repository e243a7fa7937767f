"""edgepipe.tasks.ObjectTracker on vtest.avi (pedestrians): its tracks equal what
the C++ graph (`edgepipe run graphs/object_detection_tracking.pbtxt`) writes on
the same frames — JSON lines and MOT text, IDs, boxes, scores, detector frames —
an ID stays on the same person over consecutive frames, options reach the
graph, IMAGE mode is refused, LIVE_STREAM delivers tracks.

Run: PYTHONPATH=<src>/python:<build>/python pytest tests/python/test_object_tracker_task.py
Without ../shared the tests skip, unless EDGEPIPE_REQUIRE_SHARED=1.
"""
import faulthandler
import json
import os
import subprocess
import threading
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("EDGEPIPE_SHARED_DIR", ROOT.parent / "shared"))
MODEL = SHARED / "models" / "zoo" / "ssd_mobilenet_v1_coco_quant.tflite"
VIDEO = SHARED / "media" / "vtest.avi"
CLI = Path(os.environ.get("EDGEPIPE_CLI", ROOT / "build" / "bin" / "edgepipe"))

if not (VIDEO.is_file() and MODEL.is_file()):
    if os.environ.get("EDGEPIPE_REQUIRE_SHARED") == "1":
        raise RuntimeError(f"EDGEPIPE_REQUIRE_SHARED=1 but {VIDEO} or {MODEL} is missing")
    pytest.skip(f"{SHARED} is absent (clone without ../shared)", allow_module_level=True)

edgepipe = pytest.importorskip("edgepipe", reason="build the _edgepipe module and set PYTHONPATH")
from edgepipe import tasks  # noqa: E402

FRAMES = 60  # 6 s at 10 fps: 18 detector runs at the graph's 3 per second


@pytest.fixture(autouse=True)
def watchdog():
    faulthandler.dump_traceback_later(240, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module")
def frames():
    return list(edgepipe.video.read_video(str(VIDEO), max_frames=FRAMES))


def tracker(mode=tasks.RunningMode.VIDEO, **options):
    return tasks.ObjectTracker.create_from_options(tasks.ObjectTrackerOptions(
        base_options=tasks.BaseOptions(model_asset_path=str(MODEL)), running_mode=mode, **options))


def track_video(frames, **options):
    with tracker(**options) as task:
        return [task.track_for_video(frame, timestamp_us // 1000) for frame, timestamp_us in frames]


def pixels(value, width, height):
    return tasks.BoundingBox(round(value["xmin"] * width), round(value["ymin"] * height),
                             round(value["width"] * width), round(value["height"] * height))


def shift(a, b):
    """How far the box centre moved, in box heights."""
    dx = (a.origin_x + a.width / 2) - (b.origin_x + b.width / 2)
    dy = (a.origin_y + a.height / 2) - (b.origin_y + b.height / 2)
    return (dx * dx + dy * dy) ** 0.5 / max(a.height, b.height)


def test_tracks_equal_the_cpp_graphs_json_and_mot_output(frames, tmp_path):
    json_path, mot_path = tmp_path / "tracks.jsonl", tmp_path / "tracks.txt"
    subprocess.run([str(CLI), "run", str(ROOT / "graphs" / "object_detection_tracking.pbtxt"), "--input", str(VIDEO),
                    "--max-frames", str(FRAMES), "--side", f"json_path={json_path}", "--side", f"tracks_path={mot_path}"],
                   check=True, cwd=ROOT, capture_output=True, timeout=300)
    expected = [json.loads(line) for line in json_path.read_text().splitlines()]
    mot = defaultdict(dict)
    for line in mot_path.read_text().splitlines():
        frame, track_id, x, y, w, h, score = line.split(",")[:7]
        mot[int(frame)][int(track_id)] = (float(x), float(y), float(w), float(h), float(score))
    results = track_video(frames)
    assert len(results) == len(expected) == FRAMES
    height, width = frames[0][0].shape[:2]
    tracked = 0
    for k, (result, line, (_, timestamp_us)) in enumerate(zip(results, expected, frames)):
        assert line["timestamp_us"] == timestamp_us and result.timestamp_ms == timestamp_us // 1000
        assert [t.track_id for t in result.detections] == [t["track_id"] for t in line["tracks"]], f"frame {k}"
        assert set(mot[k + 1]) == {t.track_id for t in result.detections}, f"frame {k}"
        for got, want in zip(result.detections, line["tracks"]):
            tracked += 1
            assert got.categories[0].score == want["score"]  # the same graph on the same pixels: exact
            assert got.categories[0].category_name == want["label"] == "person"
            assert got.bounding_box == pixels(want, width, height)
            x, y, w, h, score = mot[k + 1][got.track_id]
            assert (x, y, w, h) == pytest.approx((want["xmin"] * width, want["ymin"] * height,
                                                  want["width"] * width, want["height"] * height), abs=0.006)
            assert score == pytest.approx(want["score"], abs=6e-5)
        assert (result.detector_detections is None) == ("detections" not in line), f"frame {k}"
        if result.detector_detections is not None:
            assert [(d.categories[0].score, d.bounding_box) for d in result.detector_detections] == [
                (d["score"], pixels(d, width, height)) for d in line["detections"]]
    assert tracked >= 3 * FRAMES  # several pedestrians on most frames
    assert 15 <= sum(r.detector_detections is not None for r in results) <= 21  # ~3 detector runs per second


def test_an_id_stays_on_the_same_person_over_consecutive_frames(frames):
    boxes = defaultdict(dict)  # track_id -> {frame index: box}
    for k, result in enumerate(track_video(frames)):
        for track in result.detections:
            boxes[track.track_id][k] = track.bounding_box
    lasting = [track_id for track_id, seen in boxes.items() if len(seen) >= 30]
    assert len(lasting) >= 3, {i: len(s) for i, s in boxes.items()}
    for track_id in lasting:
        seen = boxes[track_id]
        steps = [(k, shift(seen[k - 1], seen[k])) for k in sorted(seen) if k - 1 in seen]
        assert len(steps) >= 25, (track_id, sorted(seen))
        # A walking person moves a few pixels per frame at 10 fps (a detection correcting the
        # box may resize it): the box centre stays within half a body height; an ID passed to
        # another person would jump by that much or more.
        assert max(moved for _, moved in steps) < 0.5, (track_id, steps)


def test_options_reach_the_detector_and_the_tracker(frames):
    clip = frames[:20]
    every_frame = track_video(clip, detection_fps=10)
    assert all(r.detector_detections is not None for r in every_frame)
    default = track_video(clip)
    assert sum(r.detector_detections is not None for r in default) < len(clip) // 2
    # tracks on the first detector run are confirmed at once; later ones would need 1000 detections
    first_ids = {t.track_id for t in default[0].detections}
    assert first_ids and {t.track_id for r in track_video(clip, min_hits=1000) for t in r.detections} <= first_ids
    without_flow = track_video(clip, tracker_options={"use_optical_flow": False})
    assert [[t.bounding_box for t in r.detections] for r in without_flow] != [
        [t.bounding_box for t in r.detections] for r in default]
    # The lists replace the graph's allow_labels (person): without people nothing is tracked as one.
    assert all(t.categories[0].category_name != "person"
               for r in track_video(clip, category_denylist=["person"]) for t in r.detections)
    assert [[t.track_id for t in r.detections] for r in track_video(clip, category_allowlist=["person"])] == [
        [t.track_id for t in r.detections] for r in default]
    limited = track_video(clip, max_results=2, score_threshold=0.6)
    for full, few in zip(default, limited):
        best = sorted((t for t in full.detections if t.categories[0].score >= 0.6),
                      key=lambda t: -t.categories[0].score)[:2]
        assert sorted(t.track_id for t in few.detections) == sorted(t.track_id for t in best)
    with pytest.raises(edgepipe.Error, match="no_such_field"):
        tracker(tracker_options={"no_such_field": 1})
    with pytest.raises(ValueError, match="unknown categories"):
        tracker(category_allowlist=["unicorn"])


def test_image_mode_is_refused(frames):
    with pytest.raises(ValueError, match="VIDEO"):
        tracker(tasks.RunningMode.IMAGE)
    with tracker() as task:
        with pytest.raises(ValueError, match="no IMAGE mode"):
            task.detect(frames[0][0])
        task.track_for_video(frames[0][0], 0)
        with pytest.raises(ValueError, match="monotonically increasing"):
            task.track_for_video(frames[1][0], 0)


def test_live_stream_delivers_tracks_to_the_callback(frames):
    delivered = []
    done = threading.Event()

    def on_result(result, image, timestamp_ms):
        delivered.append((timestamp_ms, [t.track_id for t in result.detections]))
        if len(delivered) >= 3:
            done.set()

    with tracker(tasks.RunningMode.LIVE_STREAM, result_callback=on_result) as task:
        for frame, timestamp_us in frames[:30]:
            task.track_async(frame, timestamp_us // 1000)
            task._task.wait_until_idle()  # a consumer as fast as the video: no frame dropped
        assert task.dropped_frames == 0
    assert done.is_set() and len(delivered) == 30
    assert [ts for ts, _ in delivered] == [ts // 1000 for _, ts in frames[:30]]
    assert [ids for _, ids in delivered] == [[t.track_id for t in r.detections] for r in track_video(frames[:30])]
    assert any(ids for _, ids in delivered)
