"""Heartbeat files for the two Celery processes that have no port to probe: beat and the worker.

A check that the process exists passes while it is hung (a broker connection that blocks, a stuck loop), and
``celery inspect ping`` starts a Python with Django and Celery every time (about a second of CPU on a 2-core
host). So each proves it is alive by what it does, and healthcheck/heartbeat_probe.py (standard library,
tens of milliseconds) fails once the file is older than a few of its intervals:

- beat (``celery -A config beat -S jobs.heartbeat:HeartbeatScheduler``) touches CELERY_BEAT_HEARTBEAT_FILE
  after every pass of its scheduling loop, which runs at least every CELERY_BEAT_MAX_INTERVAL seconds;
- the worker touches CELERY_WORKER_HEARTBEAT_FILE every CELERY_WORKER_HEARTBEAT_SECONDS from a timer of its
  event loop (WorkerHeartbeat, added to the worker in config/celery.py). That loop is the consumer's: it runs
  while the worker consumes from the broker, so a worker whose loop hangs, or that cannot reach the broker
  for long, fails its check, as it did with ``inspect ping``. The pool's processes run the jobs, not this
  loop, so a long job does not stop the heartbeat.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery import bootsteps
from celery.beat import PersistentScheduler
from django.conf import settings


def heartbeat_touch(path: Path) -> None:
    """Set the file's modification time to now, creating it if needed (the probe reads only the mtime)."""
    path.touch(exist_ok=True)
    os.utime(path)


class HeartbeatScheduler(PersistentScheduler):  # type: ignore[misc]
    def tick(self, *args: Any, **kwargs: Any) -> float:
        interval = float(super().tick(*args, **kwargs))
        heartbeat_touch(Path(settings.CELERY_BEAT_HEARTBEAT_FILE))
        return interval


class WorkerHeartbeat(bootsteps.StartStopStep):  # type: ignore[misc]
    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.path = Path(settings.CELERY_WORKER_HEARTBEAT_FILE)
        self.timer_entry: Any = None

    def start(self, worker: Any) -> None:
        self.timer_entry = worker.timer.call_repeatedly(
            settings.CELERY_WORKER_HEARTBEAT_SECONDS, heartbeat_touch, (self.path,), priority=10
        )

    def stop(self, worker: Any) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
