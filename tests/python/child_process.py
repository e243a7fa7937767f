"""Running a snippet in a fresh interpreter under a timeout, for the tests whose failure mode is a hang."""
import subprocess
import sys
import textwrap

import pytest


def run_child(body, expected_lines, prelude="import threading, time\nimport edgepipe\n", timeout_s=20):
    """Runs `prelude` + `body`; it must exit 0 and print `expected_lines` within `timeout_s`."""
    script = prelude + textwrap.dedent(body)
    try:
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"hung for {timeout_s} s; output so far: {expired.stdout!r} {expired.stderr!r}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:-1] == expected_lines, result.stderr
