"""event_log.py: timestamped JSON lines appended to a file."""

from __future__ import annotations

import json
from pathlib import Path

from scripts.control_plane.event_log import EventLog, event_line, timestamp
from scripts.control_plane.records import Event, EventKind


def test_timestamp_is_utc_with_milliseconds() -> None:
    assert timestamp(1796536698.3035) == "2026-12-06T05:58:18.303Z"


def test_a_line_carries_its_context_and_the_event_fields() -> None:
    event = Event(EventKind.TASK_HEALTHY, {"service": "partscat_django-blue", "task": "abc", "stack": "ignored"})
    line = json.loads(event_line(event, moment=1796536698.3035, stack="partscat", command="update", run="r1"))
    assert line == {
        "at": "2026-12-06T05:58:18.303Z",
        "t": 1796536698.303,
        "event": "task_healthy",
        "stack": "partscat",  # the context wins over a field of the same name
        "command": "update",
        "run": "r1",
        "service": "partscat_django-blue",
        "task": "abc",
    }


def test_events_are_appended(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "events.jsonl"
    path.parent.mkdir()
    path.write_text('{"event": "earlier"}\n')
    log = EventLog(path, stack="s", command="c", run="r", clock=lambda: 0.0)
    log.emit(EventKind.SWITCH, live="green")
    log.emit(EventKind.ROLLBACK, live="blue")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["event"] for line in lines] == ["earlier", "switch", "rollback"]
    assert log.written == 2


def test_no_path_writes_nothing(tmp_path: Path) -> None:
    log = EventLog(None, stack="s", command="c", run="r")
    log.emit(EventKind.SWITCH)
    assert log.written == 0
    assert list(tmp_path.iterdir()) == []
