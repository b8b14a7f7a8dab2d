"""The event log: one JSON object a line, appended to STACK_EVENTS_FILE (default .cache/stack-events.jsonl),
each stamped with the wall clock. These are the markers a timeline of a change draws (a zero-downtime
report, a canary's analysis): tasks started, healthy, in and out of rotation, stopped; updates started,
paused, rolled back, completed; switches and rollbacks; and each command's start and end.

A line: {"at": "2026-12-06T05:58:18.303Z", "t": 1796536698.303, "event": "task_healthy", "stack": "partscat",
"command": "update", "run": "<id of this run>", ...the event's own fields}. A dry run writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path

from scripts.control_plane.records import Event, EventKind, EventValue


def timestamp(moment: float) -> str:
    """ISO 8601 in UTC with milliseconds."""
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_line(event: Event, *, moment: float, stack: str, command: str, run: str) -> str:
    record: dict[str, EventValue] = {
        "at": timestamp(moment),
        "t": round(moment, 3),
        "event": str(event.kind),
        "stack": stack,
        "command": command,
        "run": run,
    }
    record.update({key: value for key, value in event.fields.items() if key not in record})
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


class EventLog:
    """Appends events to `path` (None: writes nothing, for a dry run). Each line is one write to a file
    opened for appending, so several runs may share the file."""

    def __init__(
        self, path: Path | None, *, stack: str, command: str, run: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self.stack = stack
        self.command = command
        self.run = run
        self.clock = clock
        self.written = 0

    def emit(self, kind: EventKind, **fields: EventValue) -> None:
        self.record(Event(kind, fields))

    def record(self, event: Event) -> None:
        if self.path is None:
            return
        line = event_line(event, moment=self.clock(), stack=self.stack, command=self.command, run=self.run)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as log:
            log.write(line + "\n")
        self.written += 1
