"""Which task events happened between two looks at a service: a task started, turned healthy, stopped
(from `docker service ps` snapshots), entered or left an Nginx task's rotation (from its watcher's state).

A task of these services stays "starting" until its healthcheck passes, so "running" is healthy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from scripts.control_plane.records import TASK_RUNNING, Event, EventKind, EventValue, Rotation, Task


def _task_fields(task: Task) -> dict[str, EventValue]:
    fields: dict[str, EventValue] = {
        "service": task.name.rsplit(".", 1)[0],
        "task": task.id,
        "slot": task.name,
        "node": task.node,
        "image": task.image,
        "state": task.state,
    }
    if task.error:
        fields["error"] = task.error
    return fields


def task_events(before: Mapping[str, Task] | None, after: Sequence[Task]) -> list[Event]:
    """Events between two snapshots (task id -> task). With no snapshot before, this is the first look:
    it only sets the baseline. A task seen for the first time already running, or already ended, gets
    the events it went through between two looks."""
    if before is None:
        return []
    events = []
    for task in after:
        old = before.get(task.id)
        fields = _task_fields(task)
        if old is None:
            events.append(Event(EventKind.TASK_STARTED, fields))
        if task.state == TASK_RUNNING and (old is None or old.state != TASK_RUNNING):
            events.append(Event(EventKind.TASK_HEALTHY, fields))
        if task.ended and (old is None or not old.ended):
            events.append(Event(EventKind.TASK_STOPPED, fields))
    return events


def rotation_events(before: Rotation | None, after: Rotation | None) -> list[Event]:
    """Peers that entered or left one Nginx task's rotation (an unreadable state on either side: none)."""
    if before is None or after is None:
        return []
    events = []
    for service in sorted(set(before) | set(after)):
        old, new = set(before.get(service, ())), set(after.get(service, ()))
        events += [Event(EventKind.TASK_IN_ROTATION, {"service": service, "peer": peer}) for peer in sorted(new - old)]
        events += [
            Event(EventKind.TASK_OUT_OF_ROTATION, {"service": service, "peer": peer}) for peer in sorted(old - new)
        ]
    return events
