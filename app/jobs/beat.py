"""Celery beat's scheduler with a heartbeat: ``celery -A config beat -S jobs.beat:HeartbeatScheduler``.

Beat has no port to probe, and a check that beat's process exists passes while beat is hung (a broker
connection that blocks, a scheduler stuck on a lock). So beat proves it is alive by what it does: after
every pass of its scheduling loop (due entries sent) it touches CELERY_BEAT_HEARTBEAT_FILE. The loop runs
at least every CELERY_BEAT_MAX_INTERVAL seconds, and healthcheck/heartbeat_probe.py fails once the file
is older than a few of those intervals.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery.beat import PersistentScheduler
from django.conf import settings


def heartbeat_touch(path: Path) -> None:
    """Set the file's modification time to now, creating it if needed (atomic enough for a probe that reads mtime)."""
    path.touch(exist_ok=True)
    os.utime(path)


class HeartbeatScheduler(PersistentScheduler):  # type: ignore[misc]
    def tick(self, *args: Any, **kwargs: Any) -> float:
        interval = float(super().tick(*args, **kwargs))
        heartbeat_touch(Path(settings.CELERY_BEAT_HEARTBEAT_FILE))
        return interval
