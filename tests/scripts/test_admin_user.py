"""scripts/admin-user.sh: which task it runs in, that it changes nothing for an existing name, that the
password travels on stdin only, and that a weak one creates nobody. Run for real in bash against a stub
``docker`` that records every call; with STUB_APP_DIR set, its ``docker exec`` runs the command in the task's
stead, on this machine (manage.py against a test database)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from tests.servers import APP_DIR, ROOT, service_env

STUB_DOCKER = r"""#!/usr/bin/env bash
set -eu
printf '%s\n' "$*" >>"${STUB_CALLS}"
case "$1 ${2:-}" in
    "info ") exit 0 ;;
    "service inspect") echo green ;;  # the live colour label
    "ps -q") [ "${STUB_HEALTHY:-1}" = 0 ] || echo c0ffee ;;
    "exec -e")
        if [ -n "${STUB_APP_DIR:-}" ]; then  # run it here: the -e variables, then the command after the container
            shift
            while [ "$1" = -e ] || [ "$1" = -i ]; do
                if [ "$1" = -e ]; then export "$2"; shift; fi
                shift
            done
            shift  # the container
            cd "${STUB_APP_DIR}" && exec "${STUB_PYTHON}" "${@:2}"
        fi
        case "$*" in
            *"objects.filter"*) exit "${STUB_EXISTS:-3}" ;;
            *createsuperuser*) cat >"${STUB_STDIN}" ;;
        esac ;;
    *) echo "stub docker: unexpected: $*" >&2; exit 99 ;;
esac
"""


def run(tmp_path: Path, *args: str, stdin: str = "", **stub: str) -> tuple[subprocess.CompletedProcess[str], str]:
    stub_path = tmp_path / "bin" / "docker"
    stub_path.parent.mkdir(exist_ok=True)
    stub_path.write_text(STUB_DOCKER)
    stub_path.chmod(0o755)
    calls = tmp_path / "calls"
    environ = {
        **os.environ,
        "PATH": f"{stub_path.parent}:{os.environ['PATH']}",
        "STUB_CALLS": str(calls),
        "STUB_STDIN": str(tmp_path / "stdin"),
        "STACK_NAME": "partscat",
        **stub,
    }
    result = subprocess.run(
        ["bash", "scripts/admin-user.sh", *args],
        cwd=ROOT,
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return result, calls.read_text() if calls.exists() else ""


def test_creates_the_account_in_a_healthy_task_of_the_live_colour_with_the_password_on_stdin(tmp_path: Path) -> None:
    result, calls = run(tmp_path, "alice", "alice@example.org", stdin="s3cret-Passw0rd\n")
    assert result.returncode == 0, result.stderr
    assert "label=com.docker.swarm.service.name=partscat_django-green --filter health=healthy" in calls
    assert (
        "-e ADMIN_USERNAME=alice -e ADMIN_EMAIL=alice@example.org -i c0ffee python manage.py createsuperuser "
        "--noinput --username alice --email alice@example.org --password-stdin"
    ) in calls
    assert (tmp_path / "stdin").read_text() == "s3cret-Passw0rd\n"
    assert "s3cret" not in calls + result.stderr  # never in argv or the log
    assert "log in at http://127.0.0.1:8080/admin/" in result.stderr


def test_an_existing_name_changes_nothing(tmp_path: Path) -> None:
    result, calls = run(tmp_path, "alice", stdin="ignored", STUB_EXISTS="0")
    assert result.returncode == 0, result.stderr
    assert "already exists; nothing changed" in result.stderr
    assert "create_superuser" not in calls


def test_without_a_terminal_a_name_is_required(tmp_path: Path) -> None:
    result, calls = run(tmp_path)
    assert result.returncode == 1
    assert "give NAME and the password on stdin" in result.stderr
    assert "exec" not in calls


def test_no_healthy_task_is_a_clear_error(tmp_path: Path) -> None:
    result, _calls = run(tmp_path, "alice", STUB_HEALTHY="0")
    assert result.returncode == 1
    assert "no healthy partscat_django-green task" in result.stderr


def test_a_password_that_fails_the_validators_creates_nobody(tmp_path: Path, database_url: str) -> None:
    """The real createsuperuser against the test catalog, through the script's own stdin path."""
    here = {"STUB_APP_DIR": str(APP_DIR), "STUB_PYTHON": sys.executable, **service_env(database_url)}

    weak, _calls = run(tmp_path, "tests-script-admin", stdin="password", **here)

    assert weak.returncode == 1
    assert "password refused: This password is too short" in weak.stderr
    assert "This password is too common." in weak.stderr
    assert "admin account tests-script-admin not created" in weak.stderr
    assert _superusers(database_url, "tests-script-admin") == 0

    strong, _calls = run(tmp_path, "tests-script-admin", stdin="tiled-harbour-lamp-47", **here)

    assert strong.returncode == 0, strong.stderr
    assert _superusers(database_url, "tests-script-admin") == 1
    again, _calls = run(tmp_path, "tests-script-admin", stdin="ignored", **here)
    assert "already exists; nothing changed" in again.stderr
    with psycopg.connect(database_url) as conn:
        conn.execute("DELETE FROM auth_user WHERE username = 'tests-script-admin'")


def _superusers(database_url: str, name: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM auth_user WHERE username = %s AND is_superuser", [name]).fetchone()
    assert row is not None
    return int(row[0])
