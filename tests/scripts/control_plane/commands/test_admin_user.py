"""commands/admin_user.py (admin-user.sh): the account made inside a healthy task of the live django colour,
its password through the terminal or stdin only; an existing name changes nothing."""

from __future__ import annotations

from pathlib import Path

from scripts.control_plane.docker import Output
from tests.scripts.control_plane.fake_swarm import checkout, container_json, run_cli, stack_swarm

CREATE = (
    "docker exec -e ADMIN_USERNAME=alice -e ADMIN_EMAIL=alice@example.org -i django-green-1 python manage.py "
    "createsuperuser --noinput --username alice --email alice@example.org --password-stdin"
)


def test_creates_the_account_in_a_healthy_task_of_the_live_colour_with_the_password_on_stdin(tmp_path: Path) -> None:
    swarm = stack_swarm(live="green")
    swarm.exec_codes["objects.filter"] = 3  # no such user yet
    run = run_cli(swarm, checkout(tmp_path), "admin-user", "alice", "alice@example.org")
    assert run.exit_code == 0, run.stderr
    looked_up = [" ".join(call) for call in swarm.calls if call[1] == "ps"]
    assert "label=com.docker.swarm.service.name=partscat_django-green --filter health=healthy" in looked_up[-1]
    assert swarm.changes == [CREATE]
    # stdin is the command's: the password goes from ours to createsuperuser, never through argv.
    assert swarm.outputs[swarm.calls.index(tuple(CREATE.split()))] is Output.TERMINAL
    assert "log in at http://127.0.0.1:8080/admin/" in run.stderr


def test_an_existing_name_changes_nothing(tmp_path: Path) -> None:
    swarm = stack_swarm()
    run = run_cli(swarm, checkout(tmp_path), "admin-user", "alice")
    assert run.exit_code == 0, run.stderr
    assert "admin account alice already exists; nothing changed" in run.stderr
    assert "docker exec -it django-blue-1 python manage.py changepassword alice" in run.stderr
    assert swarm.changes == []


def test_a_refused_password_creates_nobody(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.exec_codes["objects.filter"] = 3
    swarm.exec_codes["createsuperuser"] = 1
    run = run_cli(swarm, checkout(tmp_path), "admin-user", "alice")
    assert run.exit_code == 1
    assert "admin account alice not created" in run.stderr


def test_on_a_terminal_createsuperuser_asks(tmp_path: Path) -> None:
    swarm = stack_swarm()
    run = run_cli(swarm, checkout(tmp_path), "admin-user", terminal=True)
    assert run.exit_code == 0, run.stderr
    assert swarm.changes == ["docker exec -it django-blue-1 python manage.py createsuperuser"]


def test_without_a_terminal_a_name_is_required(tmp_path: Path) -> None:
    swarm = stack_swarm()
    run = run_cli(swarm, checkout(tmp_path), "admin-user")
    assert run.exit_code == 1
    assert "give NAME and the password on stdin" in run.stderr
    assert swarm.changes == []


def test_no_healthy_task_is_a_clear_error(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.containers["partscat_django-blue"] = [container_json("c1", "partscat_django-blue", healthy=False)]
    run = run_cli(swarm, checkout(tmp_path), "admin-user", "alice")
    assert run.exit_code == 1
    assert "no healthy partscat_django-blue task on this node; is the stack up (make up)?" in run.stderr


def test_a_lookup_that_fails_is_not_taken_for_no_user(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.exec_codes["objects.filter"] = 1
    run = run_cli(swarm, checkout(tmp_path), "admin-user", "alice")
    assert run.exit_code == 1
    assert "could not look up alice in partscat_django-blue (exit 1)" in run.stderr
    assert swarm.changes == []


def test_usage(tmp_path: Path) -> None:
    run = run_cli(stack_swarm(), checkout(tmp_path), "admin-user", "a", "b", "c")
    assert (run.exit_code, "usage: admin-user.sh [NAME [EMAIL]]" in run.stderr) == (1, True)


def test_a_dry_run_creates_nobody(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.exec_codes["objects.filter"] = 3
    run = run_cli(swarm, checkout(tmp_path), "admin-user", "alice", "--dry-run")
    assert (run.exit_code, swarm.changes) == (0, [])
    assert "dry run: no account created" in run.stderr
