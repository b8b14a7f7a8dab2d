"""What a Swarm update's state means for whoever waits on it (lib.sh update_state_kind), how a wait ended
(lib.sh wait_for_update's outcomes and exit codes), and which update events a change of state is."""

from __future__ import annotations

from enum import IntEnum, StrEnum

from scripts.control_plane.records import Event, EventKind, UpdateStatus


class UpdateKind(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    ROLLED_BACK = "rolled_back"
    PAUSED = "paused"
    NONE = "none"


def update_state_kind(state: str) -> UpdateKind:
    """pending (updating, rollback_started, anything unknown), completed, rolled_back (rollback_completed),
    paused (paused, rollback_paused: Swarm gave up and waits for an operator), or none (no update ever ran)."""
    if state == "completed":
        return UpdateKind.COMPLETED
    if state == "rollback_completed":
        return UpdateKind.ROLLED_BACK
    if state in ("paused", "rollback_paused"):
        return UpdateKind.PAUSED
    if state == "":
        return UpdateKind.NONE
    return UpdateKind.PENDING


def status_kind(status: UpdateStatus | None) -> UpdateKind:
    return update_state_kind(status.state if status is not None else "")


class UpdateOutcome(IntEnum):
    """How waiting on an update ended, with lib.sh wait_for_update's return codes. The caller decides which
    is a success: an update wants COMPLETED, a rollback ROLLED_BACK; update.sh and rollback.sh exit 1 on
    the others."""

    COMPLETED = 0
    ROLLED_BACK = 10
    PAUSED = 11
    TIMED_OUT = 12


def update_outcome(status: UpdateStatus | None, *, deadline_passed: bool) -> UpdateOutcome | None:
    """The outcome of one poll of a wait: None means keep waiting."""
    kind = status_kind(status)
    if kind is UpdateKind.COMPLETED:
        return UpdateOutcome.COMPLETED
    if kind is UpdateKind.ROLLED_BACK:
        return UpdateOutcome.ROLLED_BACK
    if kind is UpdateKind.PAUSED:
        return UpdateOutcome.PAUSED
    return UpdateOutcome.TIMED_OUT if deadline_passed else None


_STATE_EVENTS = {
    "updating": EventKind.UPDATE_STARTED,
    "rollback_started": EventKind.UPDATE_ROLLBACK_STARTED,
    "paused": EventKind.UPDATE_PAUSED,
    "rollback_paused": EventKind.UPDATE_PAUSED,
    "rollback_completed": EventKind.UPDATE_ROLLED_BACK,
    "completed": EventKind.UPDATE_COMPLETED,
}


def update_events(service: str, before: UpdateStatus | None, after: UpdateStatus | None) -> list[Event]:
    """The update event a poll saw, if the service's update state changed since the one before."""
    if after is None or not after.state:
        return []
    if before is not None and (before.state, before.started_at) == (after.state, after.started_at):
        return []
    kind = _STATE_EVENTS.get(after.state)
    if kind is None:
        return []
    return [Event(kind, {"service": service, "state": after.state, "message": after.message})]
