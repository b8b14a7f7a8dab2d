"""healthcheck/heartbeat_probe.py decides from the file's age: fresh passes, stale or missing fails."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.servers import ROOT

PROBE = ROOT / "healthcheck" / "heartbeat_probe.py"


def _probe(*args: str) -> subprocess.CompletedProcess[str]:
    # As the image runs it: a plain interpreter and the file path, no package imports.
    return subprocess.run([sys.executable, str(PROBE), *args], capture_output=True, text=True, check=False)


def test_a_fresh_heartbeat_passes(tmp_path: Path) -> None:
    beat = tmp_path / "heartbeat"
    beat.touch()
    answer = _probe(str(beat), "--max-age", "5")
    assert answer.returncode == 0, answer.stdout
    assert answer.stdout.startswith("alive:")


def test_a_stale_heartbeat_fails(tmp_path: Path) -> None:
    beat = tmp_path / "heartbeat"
    beat.touch()
    past = time.time() - 61
    os.utime(beat, (past, past))
    answer = _probe(str(beat))  # default limit: 60 s
    assert answer.returncode == 1
    assert "stale heartbeat" in answer.stdout
    assert _probe(str(beat), "--max-age", "120").returncode == 0


def test_no_heartbeat_file_fails(tmp_path: Path) -> None:
    answer = _probe(str(tmp_path / "never-written"))
    assert answer.returncode == 1
    assert "does not exist" in answer.stdout


def test_a_bad_argument_is_a_usage_error(tmp_path: Path) -> None:
    assert _probe(str(tmp_path / "x"), "--max-age", "soon").returncode == 2
