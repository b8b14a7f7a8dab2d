"""decisions/task_events.py: task and rotation events from two looks."""

from __future__ import annotations

from collections.abc import Sequence

from scripts.control_plane.decisions.task_events import rotation_events, task_events
from scripts.control_plane.records import Event, EventKind, Task


def task(task_id: str, state: str, *, desired: str = "running", error: str = "") -> Task:
    return Task(
        id=task_id,
        name="partscat_django-blue.1",
        image="django:2",
        node="vm",
        desired_state=desired,
        state=state,
        error=error,
    )


def kinds(events: Sequence[Event]) -> list[str]:
    return [str(event.kind) for event in events]


def test_the_first_look_is_the_baseline() -> None:
    assert task_events(None, [task("a", "running")]) == []


def test_a_task_starts_turns_healthy_and_stops() -> None:
    starting = task("new", "starting")
    running = task("new", "running")
    stopped = task("new", "shutdown", desired="shutdown")
    assert kinds(task_events({}, [starting])) == ["task_started"]
    assert kinds(task_events({"new": starting}, [running])) == ["task_healthy"]
    assert kinds(task_events({"new": running}, [running])) == []
    (event,) = task_events({"new": running}, [stopped])
    assert event.kind is EventKind.TASK_STOPPED
    assert event.fields["service"] == "partscat_django-blue"
    assert event.fields["slot"] == "partscat_django-blue.1"


def test_a_task_seen_first_when_running_or_ended_gets_what_it_went_through() -> None:
    assert kinds(task_events({}, [task("t", "running")])) == ["task_started", "task_healthy"]
    failed = task("t", "failed", desired="shutdown", error="task: non-zero exit (1)")
    events = task_events({}, [failed])
    assert kinds(events) == ["task_started", "task_stopped"]
    assert events[1].fields["error"] == "task: non-zero exit (1)"


def test_rotation_events() -> None:
    before = {"django-blue": ("10.0.0.1:8000", "10.0.0.2:8000")}
    after = {"django-blue": ("10.0.0.2:8000", "10.0.0.3:8000"), "django-green": ("10.0.0.9:8000",)}
    events = rotation_events(before, after)
    assert [(str(event.kind), event.fields["peer"]) for event in events] == [
        ("task_in_rotation", "10.0.0.3:8000"),
        ("task_out_of_rotation", "10.0.0.1:8000"),
        ("task_in_rotation", "10.0.0.9:8000"),
    ]
    assert rotation_events(None, after) == []
    assert rotation_events(before, None) == []
