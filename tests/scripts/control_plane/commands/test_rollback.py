"""commands/rollback.py (rollback.sh): back to the previous spec and wait for Swarm's rolled back."""

from __future__ import annotations

from pathlib import Path

from tests.scripts.control_plane.fake_swarm import FakeSwarm, checkout, run_cli, service_json, update_status

SERVICE = "partscat_redis"
ROLLBACK = "docker service rollback --detach --quiet partscat_redis"


def redis(states: list[str], *, current: str = "completed", previous: str | None = "img:old") -> FakeSwarm:
    service = service_json(SERVICE, "img:new", update=update_status(current), previous_image=previous)
    swarm = FakeSwarm(services={SERVICE: service})
    swarm.scripted_updates[SERVICE] = [update_status(state) for state in states]
    return swarm


def test_succeeds_when_the_rollback_completes(tmp_path: Path) -> None:
    swarm = redis(["rollback_started", "rollback_completed"])
    run = run_cli(swarm, checkout(tmp_path), "rollback", "redis")
    assert run.exit_code == 0, run.stderr
    assert "rolling back partscat_redis: img:new -> img:old" in run.stderr
    assert "rolled back partscat_redis to img:old" in run.stderr
    assert swarm.changes == [ROLLBACK]


def test_fails_when_the_rollback_pauses_or_times_out(tmp_path: Path) -> None:
    paused = run_cli(redis(["rollback_paused"]), checkout(tmp_path), "rollback", "redis")
    assert paused.exit_code == 1
    assert "rollback of partscat_redis paused: swarm says rollback_paused" in paused.stderr
    late = run_cli(redis(["rollback_started"]), tmp_path, "rollback", "redis", environ={"UPDATE_TIMEOUT_SECONDS": "0"})
    assert late.exit_code == 1
    assert "rollback of partscat_redis not finished after 0s (state: rollback_started)" in late.stderr


def test_does_not_undo_a_rollback_unless_forced(tmp_path: Path) -> None:
    swarm = redis(["rollback_completed"], current="rollback_completed")
    run = run_cli(swarm, checkout(tmp_path), "rollback", "redis")
    assert run.exit_code == 0
    assert "partscat_redis is already rolled back (img:new); --force rolls back again" in run.stderr
    assert swarm.changes == []
    forced = run_cli(swarm, tmp_path, "rollback", "redis", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert swarm.changes == [ROLLBACK]


def test_without_a_previous_spec_there_is_nothing_to_go_back_to(tmp_path: Path) -> None:
    run = run_cli(redis([], previous=None), checkout(tmp_path), "rollback", "redis")
    assert run.exit_code == 1
    assert "partscat_redis has no previous spec to roll back to" in run.stderr


def test_usage(tmp_path: Path) -> None:
    run = run_cli(redis([]), checkout(tmp_path), "rollback")
    assert run.exit_code == 1
    assert "usage: rollback.sh SERVICE [--force]" in run.stderr


def test_a_dry_run_does_not_roll_back(tmp_path: Path) -> None:
    swarm = redis(["rollback_completed"])
    run = run_cli(swarm, checkout(tmp_path), "rollback", "redis", "--dry-run")
    assert (run.exit_code, swarm.changes) == (0, [])
    assert f"+ {ROLLBACK}  # dry run: not run" in run.stderr
