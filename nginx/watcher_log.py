"""The watcher's log line: a UTC timestamp, then the message, on stderr (the task's log)."""

from __future__ import annotations

import datetime
import sys


def log(message: str) -> None:
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
    print(f"{now} upstream_watcher: {message}", file=sys.stderr, flush=True)
