"""commands/status.py (status.sh): what the stack runs, read only."""

from __future__ import annotations

from pathlib import Path

from scripts.control_plane.commands.status import table, update_state_line
from tests.scripts.control_plane.fake_swarm import FakeSwarm, checkout, events, run_cli, stack_swarm, update_status


def test_table_aligns_columns_like_the_docker_cli() -> None:
    assert table(["NAME", "REPLICAS", "IMAGE"], [["partscat_nginx", "1/1", "partscat/nginx:n1"]]).splitlines() == [
        "NAME             REPLICAS   IMAGE",
        "partscat_nginx   1/1        partscat/nginx:n1",
    ]


def test_update_state_line() -> None:
    assert update_state_line("partscat_nginx", "completed", "update completed") == (
        "partscat_nginx               completed update completed"
    )
    assert update_state_line("partscat_redis", "", "") == "partscat_redis               -"


def test_status_shows_services_updates_tasks_and_peers(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.services["partscat_nginx"]["UpdateStatus"] = update_status("completed", message="update completed")
    run = run_cli(swarm, checkout(tmp_path), "status")
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "== services"
    assert lines[1].split() == ["NAME", "REPLICAS", "IMAGE", "PORTS"]
    assert "partscat_nginx               completed update completed" in lines
    assert "== tasks meant to run" in lines
    assert any(line.startswith("partscat_django-blue.1") and "Running 5 seconds ago" in line for line in lines)
    assert '{"live": "blue"}' in lines
    assert lines[-1] == "== entry: http://127.0.0.1:8080/"
    assert swarm.changes == []
    assert events(tmp_path) == []  # a read changes nothing, so it logs no event


def test_status_of_a_stack_that_is_not_there(tmp_path: Path) -> None:
    run = run_cli(FakeSwarm(), checkout(tmp_path), "status")
    assert run.exit_code == 1
    assert "stack partscat is not deployed" in run.stderr
