"""The verdict --json FILE writes when a command ends, whatever the end: what was asked, what changed (every
command that changes something, run or, in a dry run, only printed), the final state of each service of the
stack, timings, the outcome and, on failure, the reason. CI reads it instead of parsing the log:

{"command": "update", "args": ["django", "partscat/django:1a2b3c4"], "dry_run": false, "stack": "partscat",
 "ok": false, "exit_code": 1, "outcome": "rolled_back", "reason": "update of partscat_django-blue failed ...",
 "started_at": "...", "finished_at": "...", "seconds": 71.2, "phases": {"update": 70.9},
 "changes": [{"command": "docker service update ...", "ran": true, "exit_code": 0, "at": "..."}],
 "services": {"partscat_django-blue": {"image": "...", "replicas": "2/2", "update_state": "rollback_completed",
 "update_message": "..."}}, "details": {...}, "events_file": ".cache/stack-events.jsonl"}
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scripts.control_plane.docker import Change
from scripts.control_plane.event_log import timestamp
from scripts.control_plane.records import Service, ServiceRow

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


@dataclass
class ServiceSummary:
    image: str
    replicas: str
    update_state: str
    update_message: str


def service_summaries(rows: Sequence[ServiceRow], services: Mapping[str, Service]) -> dict[str, ServiceSummary]:
    summaries = {}
    for row in rows:
        service = services.get(row.name)
        status = service.update_status if service is not None else None
        summaries[row.name] = ServiceSummary(
            image=service.image if service is not None else row.image,
            replicas=row.replicas,
            update_state=status.state if status is not None else "",
            update_message=status.message if status is not None else "",
        )
    return summaries


@dataclass
class Verdict:
    command: str
    args: list[str]
    dry_run: bool
    stack: str
    started_at: float
    finished_at: float | None = None
    exit_code: int | None = None
    # done, failed, refused, unchanged, or a wait's end: completed, rolled_back, paused, timed_out.
    outcome: str = ""
    reason: str | None = None
    phases: dict[str, float] = field(default_factory=dict)
    details: dict[str, JsonValue] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    services: dict[str, ServiceSummary] = field(default_factory=dict)
    events_file: str | None = None


class Timer:
    """Timings of the named phases of a command, for the verdict."""

    def __init__(self, verdict: Verdict, clock: Callable[[], float] = time.monotonic) -> None:
        self.verdict = verdict
        self.clock = clock

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = self.clock()
        try:
            yield
        finally:
            self.verdict.phases[name] = round(self.verdict.phases.get(name, 0.0) + self.clock() - started, 3)


def verdict_document(verdict: Verdict) -> dict[str, JsonValue]:
    finished = verdict.finished_at if verdict.finished_at is not None else verdict.started_at
    return {
        "command": verdict.command,
        "args": list(verdict.args),
        "dry_run": verdict.dry_run,
        "stack": verdict.stack,
        "ok": verdict.exit_code == 0,
        "exit_code": verdict.exit_code,
        "outcome": verdict.outcome,
        "reason": verdict.reason,
        "started_at": timestamp(verdict.started_at),
        "finished_at": timestamp(finished),
        "seconds": round(finished - verdict.started_at, 3),
        "phases": dict(verdict.phases),
        "changes": [
            {"command": change.command, "ran": change.ran, "exit_code": change.returncode, "at": timestamp(change.at)}
            for change in verdict.changes
        ],
        "services": {
            name: {
                "image": summary.image,
                "replicas": summary.replicas,
                "update_state": summary.update_state,
                "update_message": summary.update_message,
            }
            for name, summary in verdict.services.items()
        },
        "details": dict(verdict.details),
        "events_file": verdict.events_file,
    }


def verdict_write(path: Path, verdict: Verdict) -> None:
    """Write the verdict whole or not at all (a temporary file renamed over the target)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(verdict_document(verdict), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    temporary.replace(path)
