"""The Celery worker boots from the Django settings and answers over a real Redis broker that requires a password."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.servers import APP_DIR, Redis, service_env


def test_worker_answers_ping_through_redis(redis: Redis, database_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        **service_env(database_url),
        # Host, port and password, as stack.yml gives them (the password from a secret file there):
        # the settings build Celery's URLs from them.
        **redis.env(),
    }
    worker_name = f"test-{os.getpid()}@localhost"
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-n", worker_name],
        cwd=APP_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        ping = [sys.executable, "-m", "celery", "-A", "config", "inspect", "ping", "-d", worker_name, "--timeout", "2"]
        deadline = time.monotonic() + 60
        answer = subprocess.run(ping, cwd=APP_DIR, env=env, capture_output=True, text=True, check=False)
        while answer.returncode != 0 and time.monotonic() < deadline:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(1)
            answer = subprocess.run(ping, cwd=APP_DIR, env=env, capture_output=True, text=True, check=False)
        assert answer.returncode == 0, answer.stdout + answer.stderr
        assert "pong" in answer.stdout
        assert worker_name in answer.stdout
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert worker.returncode == 0  # warm shutdown on SIGTERM
