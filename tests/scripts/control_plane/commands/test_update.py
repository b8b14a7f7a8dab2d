"""commands/update.py (update.sh): a rolling update judged by how it ended, with the exit code, messages and
verdict a CI reads; `docker service update` exits 0 after an automatic rollback, this does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.scripts.control_plane.fake_swarm import (
    FakeSwarm,
    checkout,
    events,
    run_cli,
    service_json,
    stack_swarm,
    task_json,
    update_status,
)

SERVICE = "partscat_redis"
UPDATE = "docker service update --detach --quiet --no-resolve-image --image img:new partscat_redis"


def redis(states: list[str]) -> FakeSwarm:
    swarm = FakeSwarm(
        services={SERVICE: service_json(SERVICE, "img:current", update=update_status("completed"))},
        images={"img:new"},
        tasks=[task_json("t1", f"{SERVICE}.1", "img:new", state="Failed", desired="Shutdown", error="unhealthy")],
    )
    swarm.scripted_updates[SERVICE] = [update_status(state) for state in states]
    return swarm


def test_succeeds_when_the_update_completes(tmp_path: Path) -> None:
    swarm = redis(["updating", "updating", "completed"])
    verdict = tmp_path / "verdict.json"
    run = run_cli(swarm, checkout(tmp_path), "update", "redis", "img:new", "--json", str(verdict))
    assert run.exit_code == 0, run.stderr
    assert "[update.sh] updating partscat_redis: img:current -> img:new" in run.stderr
    assert "[update.sh] updated partscat_redis to img:new" in run.stderr
    assert f"[update.sh] + {UPDATE}" in run.stderr
    assert swarm.changes == [UPDATE]
    document = json.loads(verdict.read_text())
    assert (document["ok"], document["outcome"], document["exit_code"]) == (True, "completed", 0)
    assert document["changes"][0]["command"] == UPDATE
    assert document["services"][SERVICE]["image"] == "img:new"
    assert [event["event"] for event in events(tmp_path)] == [
        "command_started",
        "update_started",
        "update_completed",
        "command_finished",
    ]


@pytest.mark.parametrize("end", ["rollback_completed", "paused", "rollback_paused"])
def test_fails_and_says_so_when_swarm_rolls_back_or_pauses(tmp_path: Path, end: str) -> None:
    verdict = tmp_path / "verdict.json"
    run = run_cli(redis(["updating", end]), checkout(tmp_path), "update", "redis", "img:new", "--json", str(verdict))
    assert run.exit_code == 1
    assert f"update of partscat_redis failed ({end}): swarm says {end}" in run.stderr
    assert "partscat_redis.1 img:new Failed 5 seconds ago unhealthy" in run.stderr  # the tasks, for the operator
    assert "ERROR" not in run.stderr  # said once, in the script's own words
    document = json.loads(verdict.read_text())
    assert document["ok"] is False
    assert document["outcome"] == ("rolled_back" if end == "rollback_completed" else "paused")
    assert document["reason"] == f"update of partscat_redis failed ({end}): swarm says {end}"
    assert document["details"]["update_state"] == end


def test_a_rollback_is_in_the_event_log(tmp_path: Path) -> None:
    run_cli(
        redis(["updating", "rollback_started", "rollback_completed"]), checkout(tmp_path), "update", "redis", "img:new"
    )
    assert [event["event"] for event in events(tmp_path)][1:] == [
        "update_started",
        "update_rollback_started",
        "update_rolled_back",
        "command_finished",
    ]
    assert events(tmp_path)[-1]["outcome"] == "rolled_back"


def test_fails_after_its_timeout(tmp_path: Path) -> None:
    run = run_cli(
        redis(["updating"]), checkout(tmp_path), "update", "redis", "img:new", environ={"UPDATE_TIMEOUT_SECONDS": "0"}
    )
    assert run.exit_code == 1
    assert "[update.sh] ERROR: update of partscat_redis not finished after 0s (state: updating)" in run.stderr


def test_an_app_means_its_live_colour(tmp_path: Path) -> None:
    swarm = stack_swarm(live="green")
    swarm.images.add("partscat/django:d3")
    swarm.scripted_updates["partscat_django-green"] = [update_status("completed")]
    run = run_cli(swarm, checkout(tmp_path), "update", "django", "partscat/django:d3")
    assert run.exit_code == 0, run.stderr
    assert swarm.changes == [
        "docker service update --detach --quiet --no-resolve-image --image partscat/django:d3 partscat_django-green"
    ]


def test_nothing_to_do_when_the_service_runs_the_image(tmp_path: Path) -> None:
    swarm = redis([])
    swarm.images.add("img:current")
    run = run_cli(swarm, checkout(tmp_path), "update", "redis", "img:current")
    assert (run.exit_code, swarm.changes) == (0, [])
    assert "partscat_redis already runs img:current" in run.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["redis"], "usage: update.sh SERVICE IMAGE   (e.g. update.sh django partscat/django:1a2b3c4)"),
        (["gone", "img:new"], "no service partscat_gone"),
        (["redis", "img:elsewhere"], "image img:elsewhere not found locally"),
    ],
)
def test_refusals(tmp_path: Path, args: list[str], message: str) -> None:
    swarm = redis([])
    run = run_cli(swarm, checkout(tmp_path), "update", *args)
    assert run.exit_code == 1
    assert f"[update.sh] ERROR: {message}" in run.stderr
    assert swarm.changes == []


def test_no_docker_daemon(tmp_path: Path) -> None:
    run = run_cli(FakeSwarm(daemon_up=False), checkout(tmp_path), "update", "redis", "img:new")
    assert run.exit_code == 1
    assert "docker daemon not reachable; run scripts/docker-engine.sh" in run.stderr


def test_a_dry_run_prints_the_update_and_changes_nothing(tmp_path: Path) -> None:
    swarm = redis(["updating", "completed"])
    verdict = tmp_path / "verdict.json"
    run = run_cli(swarm, checkout(tmp_path), "--dry-run", "update", "redis", "img:new", "--json", str(verdict))
    assert run.exit_code == 0, run.stderr
    assert swarm.changes == []
    assert f"+ {UPDATE}  # dry run: not run" in run.stderr
    assert "dry run: not waiting for the update of partscat_redis" in run.stderr
    assert swarm.services[SERVICE]["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == "img:current"
    document = json.loads(verdict.read_text())
    assert (document["dry_run"], document["outcome"]) == (True, "dry_run")
    assert document["changes"] == [
        {"command": UPDATE, "ran": False, "exit_code": None, "at": document["changes"][0]["at"]}
    ]
    assert events(tmp_path) == []


def test_a_task_swarm_leaves_beside_the_rollback_in_a_slot_is_retired(tmp_path: Path) -> None:
    # A failed new task restarted in its slot while the rollback started one there too: the service runs a task
    # more than its replicas until its next update (convergence.crowded_slots); a no-op update retires it.
    swarm = redis(["updating", "rollback_completed"])
    swarm.tasks = [
        task_json("t1", f"{SERVICE}.1", "img:current"),
        task_json("t2", f"{SERVICE}.2", "img:current"),
        task_json("t3", f"{SERVICE}.2", "img:current"),
        task_json("t4", f"{SERVICE}.2", "img:new", state="Failed", desired="Shutdown", error="non-zero exit (1)"),
    ]
    verdict = tmp_path / "verdict.json"
    run = run_cli(swarm, checkout(tmp_path), "update", "redis", "img:new", "--json", str(verdict))
    assert run.exit_code == 1
    noop = f"docker service update --detach --quiet {SERVICE}"
    assert swarm.changes == [UPDATE, noop]
    assert f"more than one task in {SERVICE}.2" in run.stderr
    assert [task["DesiredState"] for task in swarm.tasks] == ["Running", "Running", "Shutdown", "Shutdown"]
    document = json.loads(verdict.read_text())
    assert (document["outcome"], document["details"]["crowded_slots"]) == ("rolled_back", [f"{SERVICE}.2"])
