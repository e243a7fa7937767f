"""The face graph soak (tests/stress/face_graph_soak.py) for 20 seconds: start /
cancel / del at seeded random points never hang, and RSS stays flat after the
warm-up. The 10-minute run is the script's default (issue 14).

Without ../shared the test skips, unless EDGEPIPE_REQUIRE_SHARED=1.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("EDGEPIPE_SHARED_DIR", REPO.parent / "shared"))
SOAK = REPO / "tests" / "stress" / "face_graph_soak.py"

if not (SHARED / "media" / "Megamind.avi").is_file():
    if os.environ.get("EDGEPIPE_REQUIRE_SHARED") == "1":
        raise RuntimeError(f"EDGEPIPE_REQUIRE_SHARED=1 but {SHARED}/media/Megamind.avi is missing")
    pytest.skip(f"{SHARED} is absent (clone without ../shared); skipping the soak", allow_module_level=True)

pytest.importorskip("edgepipe", reason="build the _edgepipe module and set PYTHONPATH")


def test_face_graph_soak_20_seconds():
    try:
        # The soak's own watchdog ends a hung round after 30 s; this timeout is the backstop.
        result = subprocess.run([sys.executable, str(SOAK), "--seconds", "20", "--seed", "7", "--round-timeout", "30"],
                                capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"the soak hung; output so far: {expired.stdout!r} {expired.stderr!r}")
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RSS after warm-up" in result.stdout
