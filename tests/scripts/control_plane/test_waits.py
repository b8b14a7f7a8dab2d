"""waits.py: the polling loops on a fake swarm with a clock that only pretends to sleep, and the watch that
turns what they see into events."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.control_plane.decisions.update_state import UpdateOutcome
from scripts.control_plane.runbook import Failure
from scripts.control_plane.waits import (
    Watch,
    wait_colour_ready,
    wait_for_update,
    wait_stack_converged,
    wait_tasks_gone,
)
from tests.scripts.control_plane.fake_swarm import (
    FakeClock,
    FakeSwarm,
    context,
    events,
    service_json,
    stack_swarm,
    task_json,
    update_status,
)

SERVICE = "partscat_redis"


def one_service(states: list[str | None]) -> FakeSwarm:
    swarm = FakeSwarm(services={SERVICE: service_json(SERVICE, "redis:1")})
    swarm.scripted_updates[SERVICE] = [update_status(state) if state else None for state in states]
    swarm.armed.add(SERVICE)
    return swarm


@pytest.mark.parametrize(
    ("states", "outcome", "state"),
    [
        (["updating", "updating", "completed"], UpdateOutcome.COMPLETED, "completed"),
        (["updating", "rollback_started", "rollback_completed"], UpdateOutcome.ROLLED_BACK, "rollback_completed"),
        (["updating", "paused"], UpdateOutcome.PAUSED, "paused"),
        (["rollback_started", "rollback_paused"], UpdateOutcome.PAUSED, "rollback_paused"),
    ],
)
def test_wait_for_update_returns_how_the_update_ended(
    tmp_path: Path, states: list[str | None], outcome: UpdateOutcome, state: str
) -> None:
    clock = FakeClock()
    ctx = context(one_service(states), tmp_path, clock=clock)
    ended = wait_for_update(ctx, SERVICE, timeout=600, watch=Watch(ctx, [SERVICE]))
    assert (ended.outcome, ended.state, ended.message) == (outcome, state, f"swarm says {state}")
    assert clock.sleeps == [2.0] * len(states)  # UPDATE_POLL_SECONDS, before each look


@pytest.mark.parametrize("states", [["updating"], [None]])
def test_wait_for_update_times_out_on_an_update_that_never_ends(tmp_path: Path, states: list[str | None]) -> None:
    ctx = context(one_service(states), tmp_path, environ={"UPDATE_POLL_SECONDS": "5"})
    ended = wait_for_update(ctx, SERVICE, timeout=20, watch=Watch(ctx, [SERVICE]))
    assert ended.outcome is UpdateOutcome.TIMED_OUT
    assert ended.state == (states[0] or "")
    assert ctx.clock.monotonic() == 20


def test_wait_for_update_of_a_service_that_went_away(tmp_path: Path) -> None:
    ctx = context(FakeSwarm(), tmp_path)
    with pytest.raises(Failure, match="no service partscat_redis"):
        wait_for_update(ctx, SERVICE, timeout=10, watch=Watch(ctx, [SERVICE]))


def test_the_watch_logs_the_update_and_its_tasks(tmp_path: Path) -> None:
    swarm = one_service([None, "updating", "completed"])  # the first look, before the change: no update
    ctx = context(swarm, tmp_path)
    watch = Watch(ctx, [SERVICE])
    watch.start()
    swarm.tasks = [task_json("t2", f"{SERVICE}.1", "redis:2", state="Starting")]
    wait_for_update(ctx, SERVICE, timeout=600, watch=watch)
    assert [(event["event"], event.get("task", event.get("state"))) for event in events(tmp_path)] == [
        ("task_started", "t2"),
        ("update_started", "updating"),
        ("update_completed", "completed"),
    ]
    line = events(tmp_path)[0]
    assert line["stack"] == "partscat" and line["command"] == "test" and line["at"].endswith("Z")


def test_a_stack_converges(tmp_path: Path) -> None:
    ctx = context(stack_swarm(), tmp_path)
    assert wait_stack_converged(ctx, since=0, timeout=300, watch=Watch(ctx)) is None


def test_a_stack_whose_update_rolled_back_fails_at_once(tmp_path: Path) -> None:
    swarm = stack_swarm()
    started = "2026-12-06T06:00:00Z"
    swarm.services["partscat_nginx"]["UpdateStatus"] = update_status("rollback_completed", started=started)
    clock = FakeClock()
    ctx = context(swarm, tmp_path, clock=clock)
    since = int(clock.time()) - 60  # the update started after the deploy began
    assert wait_stack_converged(ctx, since=since, timeout=300, watch=Watch(ctx)) == (
        "update failed: partscat_nginx: rollback_completed: swarm says rollback_completed"
    )
    assert clock.sleeps == [2.0]


def test_a_stack_that_does_not_converge_names_what_is_missing(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.shown_replicas["partscat_django-blue"] = "1/2"
    ctx = context(swarm, tmp_path)
    assert (
        wait_stack_converged(ctx, since=0, timeout=10, watch=Watch(ctx)) == "not converged after 10s: django-blue(1/2)"
    )


def test_a_colour_that_rolled_back_stops_the_wait_at_once(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.shown_replicas["partscat_django-green"] = "0/2"
    swarm.services["partscat_django-green"]["UpdateStatus"] = update_status("rollback_completed")
    ctx = context(swarm, tmp_path)
    with pytest.raises(Failure, match=r"^django-green did not turn healthy \(update rollback_completed\); the live"):
        wait_colour_ready(ctx, "green", 2, watch=Watch(ctx))


def test_a_colour_that_never_turns_ready_times_out(tmp_path: Path) -> None:
    swarm = stack_swarm(idle_replicas=2)
    swarm.rotations["nginx-1"] = {"django-green": {"in_rotation": ["a:1"]}}
    ctx = context(swarm, tmp_path, environ={"READY_TIMEOUT_SECONDS": "6"})
    with pytest.raises(Failure, match=r"^green not healthy and in rotation after 6s$"):
        wait_colour_ready(ctx, "green", 2, watch=Watch(ctx))


def test_a_ready_colour_needs_no_wait(tmp_path: Path) -> None:
    clock = FakeClock()
    ctx = context(stack_swarm(idle_replicas=2), tmp_path, clock=clock)
    wait_colour_ready(ctx, "green", 2, watch=Watch(ctx))
    assert clock.sleeps == []


def test_tasks_that_do_not_stop_time_out(tmp_path: Path) -> None:
    ctx = context(stack_swarm(idle_replicas=2), tmp_path, environ={"READY_TIMEOUT_SECONDS": "3"})
    with pytest.raises(Failure, match=r"^green tasks still running after 3s$"):
        wait_tasks_gone(ctx, ["partscat_django-green"], label="green", watch=Watch(ctx))
    assert ctx.clock.monotonic() == 3
