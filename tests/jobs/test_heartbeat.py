"""Celery beat and the worker, run as the stack runs them (jobs/heartbeat.py), keep their heartbeat files fresh,
and the stack's health checks fail when they stop working: frozen with the process still there, or gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.servers import APP_DIR, ROOT, Redis, service_env, stack_service_command, start_worker

PROBE = ROOT / "healthcheck" / "heartbeat_probe.py"
# Beat loops at least every second here (10 s in the stack); the probe allows 3 s (60 s in the stack).
LOOP_SECONDS = 1
MAX_AGE_SECONDS = 3


def _probe(heartbeat: Path) -> bool:
    command = [sys.executable, str(PROBE), str(heartbeat), "--max-age", str(MAX_AGE_SECONDS)]
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


def _wait_for(condition: bool, heartbeat: Path, *, seconds: float) -> float:
    """Seconds until the probe's answer became ``condition``; fails the test after ``seconds``."""
    started = time.monotonic()
    while _probe(heartbeat) != condition:
        assert time.monotonic() - started < seconds, f"probe never turned {'healthy' if condition else 'unhealthy'}"
        time.sleep(0.25)
    return time.monotonic() - started


def test_the_beat_probe_follows_what_beat_does(redis: Redis, database_url: str, tmp_path: Path) -> None:
    heartbeat = tmp_path / "heartbeat"
    env = {
        **os.environ,
        **service_env(database_url),
        **redis.env(),
        "CELERY_BEAT_MAX_INTERVAL": str(LOOP_SECONDS),
        "CELERY_BEAT_HEARTBEAT_FILE": str(heartbeat),
    }
    command = stack_service_command("celery-beat")
    assert "jobs.heartbeat:HeartbeatScheduler" in command
    # The stack's command with the schedule file in this test's directory.
    command[command.index("--schedule") + 1] = str(tmp_path / "celerybeat-schedule")
    log = tmp_path / "beat.log"
    with log.open("wb") as handle:
        beat = subprocess.Popen(
            [sys.executable, "-m", *command], cwd=APP_DIR, env=env, stdout=handle, stderr=subprocess.STDOUT
        )
    try:
        assert not _probe(heartbeat), "healthy before beat ever ran its loop"
        _wait_for(True, heartbeat, seconds=60)
        # Stays healthy while beat works: fresh across several loops.
        time.sleep(MAX_AGE_SECONDS + LOOP_SECONDS)
        assert beat.poll() is None, log.read_text()
        assert _probe(heartbeat), log.read_text()

        # Frozen: the process is still there (a process check passes), but beat does nothing.
        beat.send_signal(signal.SIGSTOP)
        turned = _wait_for(False, heartbeat, seconds=MAX_AGE_SECONDS + 5)
        assert turned <= MAX_AGE_SECONDS + 1
        beat.send_signal(signal.SIGCONT)
        _wait_for(True, heartbeat, seconds=10)

        # Gone.
        beat.kill()
        beat.wait(timeout=10)
        _wait_for(False, heartbeat, seconds=MAX_AGE_SECONDS + 5)
    finally:
        if beat.poll() is None:
            beat.send_signal(signal.SIGCONT)
            beat.kill()
            beat.wait(timeout=10)


def test_the_worker_probe_follows_its_event_loop(redis: Redis, database_url: str, tmp_path: Path) -> None:
    heartbeat = tmp_path / "worker-heartbeat"
    env = {"CELERY_WORKER_HEARTBEAT_SECONDS": str(LOOP_SECONDS), "CELERY_WORKER_HEARTBEAT_FILE": str(heartbeat)}
    worker = start_worker(database_url, redis, tmp_path / "worker.log", extra_env=env)
    try:
        _wait_for(True, heartbeat, seconds=30)
        time.sleep(MAX_AGE_SECONDS + LOOP_SECONDS)
        assert _probe(heartbeat), worker.log.read_text()[-2000:]

        # The main process frozen (its pool processes still there): the check fails.
        worker.process.send_signal(signal.SIGSTOP)
        turned = _wait_for(False, heartbeat, seconds=MAX_AGE_SECONDS + 5)
        assert turned <= MAX_AGE_SECONDS + 1
        worker.process.send_signal(signal.SIGCONT)
        _wait_for(True, heartbeat, seconds=10)
    finally:
        worker.process.send_signal(signal.SIGCONT)
        worker.kill()
    _wait_for(False, heartbeat, seconds=MAX_AGE_SECONDS + 5)
