"""decisions/update_state.py: lib.sh's update_state_kind, wait_for_update's outcomes and their codes, and the
update events a change of state is."""

from __future__ import annotations

import pytest

from scripts.control_plane.decisions.update_state import (
    UpdateKind,
    UpdateOutcome,
    update_events,
    update_outcome,
    update_state_kind,
)
from scripts.control_plane.records import EventKind, UpdateStatus


@pytest.mark.parametrize(
    ("state", "kind"),
    [
        ("updating", UpdateKind.PENDING),
        ("rollback_started", UpdateKind.PENDING),
        ("completed", UpdateKind.COMPLETED),
        ("rollback_completed", UpdateKind.ROLLED_BACK),
        ("paused", UpdateKind.PAUSED),
        ("rollback_paused", UpdateKind.PAUSED),
        ("", UpdateKind.NONE),
        # A state a later Swarm adds is something still going, as lib.sh read it.
        ("rollback_finishing", UpdateKind.PENDING),
    ],
)
def test_update_state_kind_reads_swarm_states_as_lib_sh_did(state: str, kind: UpdateKind) -> None:
    assert update_state_kind(state) is kind


def test_outcomes_keep_lib_sh_wait_for_update_return_codes() -> None:
    assert [int(outcome) for outcome in UpdateOutcome] == [0, 10, 11, 12]


@pytest.mark.parametrize(
    ("state", "passed", "outcome"),
    [
        ("completed", False, UpdateOutcome.COMPLETED),
        ("rollback_completed", False, UpdateOutcome.ROLLED_BACK),
        ("paused", False, UpdateOutcome.PAUSED),
        ("rollback_paused", True, UpdateOutcome.PAUSED),
        ("updating", False, None),
        ("updating", True, UpdateOutcome.TIMED_OUT),
        ("rollback_started", True, UpdateOutcome.TIMED_OUT),
        # An update just asked for has no status yet (Swarm resets it): keep waiting, until the deadline.
        (None, False, None),
        (None, True, UpdateOutcome.TIMED_OUT),
    ],
)
def test_update_outcome_of_one_poll(state: str | None, passed: bool, outcome: UpdateOutcome | None) -> None:
    status = UpdateStatus(state, "m") if state is not None else None
    assert update_outcome(status, deadline_passed=passed) is outcome


def test_an_update_that_ended_in_its_rollback_wins_over_the_deadline() -> None:
    # What ended is reported as it ended, even when the deadline passed in the same poll.
    assert update_outcome(UpdateStatus("rollback_completed", ""), deadline_passed=True) is UpdateOutcome.ROLLED_BACK


def test_update_events_follow_state_changes_only() -> None:
    started = UpdateStatus("updating", "update in progress", started_at=100.0)
    rolling_back = UpdateStatus("rollback_started", "update paused due to failure", started_at=100.0)
    rolled_back = UpdateStatus("rollback_completed", "rollback completed", started_at=100.0)

    assert [event.kind for event in update_events("s", None, started)] == [EventKind.UPDATE_STARTED]
    assert update_events("s", started, started) == []
    assert [event.kind for event in update_events("s", started, rolling_back)] == [EventKind.UPDATE_ROLLBACK_STARTED]
    (event,) = update_events("s", rolling_back, rolled_back)
    assert event.kind is EventKind.UPDATE_ROLLED_BACK
    assert event.fields == {"service": "s", "state": "rollback_completed", "message": "rollback completed"}
    assert update_events("s", rolled_back, None) == []


def test_a_new_update_in_the_same_state_is_a_new_event() -> None:
    first = UpdateStatus("completed", "update completed", started_at=100.0)
    second = UpdateStatus("completed", "update completed", started_at=200.0)
    assert [event.kind for event in update_events("s", first, second)] == [EventKind.UPDATE_COMPLETED]
