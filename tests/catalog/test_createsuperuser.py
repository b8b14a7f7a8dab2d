"""``manage.py createsuperuser`` (catalog's): every password it sets passes AUTH_PASSWORD_VALIDATORS, with no bypass.

Run for real against a catalog database of its own: from stdin (scripts/admin-user.sh's way), from
DJANGO_SUPERUSER_PASSWORD, and at a terminal (a pseudo-terminal here), where Django's own command would offer
"Bypass password validation and create user anyway?".
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.servers import APP_DIR, Postgres, manage, service_env

DATABASE = "createsuperuser"
GOOD_PASSWORD = "tiled-harbour-lamp-47"  # noqa: S105 - a throwaway test database
# (password, what the validators say)
WEAK_PASSWORDS = [
    ("password", "This password is too common."),
    ("x7#Qm2", "This password is too short. It must contain at least 12 characters."),
    ("739184620573", "This password is entirely numeric."),
    ("tests-admin-one", "The password is too similar to the username."),
]


@pytest.fixture(scope="module")
def database_url(postgres: Postgres) -> Iterator[str]:
    yield postgres.catalog_create(DATABASE)
    postgres.database_drop(DATABASE)


def users(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT username FROM auth_user WHERE is_superuser ORDER BY id")]


def createsuperuser(url: str, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "createsuperuser", *args],
        cwd=APP_DIR,
        env={**os.environ, **service_env(url), **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_a_terminal_a_password_that_fails_the_validators_creates_nobody(database_url: str) -> None:
    for password, message in WEAK_PASSWORDS:
        from_stdin = createsuperuser(
            database_url, "--noinput", "--username", "tests-admin-one", "--password-stdin", stdin=password
        )
        from_env = createsuperuser(
            database_url, "--noinput", "--username", "tests-admin-one", DJANGO_SUPERUSER_PASSWORD=password
        )
        for refused in (from_stdin, from_env):
            assert refused.returncode == 1, refused.stdout
            assert "password refused" in refused.stderr and message in refused.stderr, refused.stderr
    assert users(database_url) == []

    created = createsuperuser(
        database_url,
        "--noinput",
        "--username",
        "tests-admin-one",
        "--email",
        "one@example.org",
        "--password-stdin",
        stdin=GOOD_PASSWORD + "\n",
    )

    assert created.returncode == 0, created.stderr
    assert users(database_url) == ["tests-admin-one"]
    check = "from django.contrib.auth.models import User; print(User.objects.get(username='tests-admin-one')"
    printed = manage(database_url, "shell", "-c", f"{check}.check_password({GOOD_PASSWORD!r}))")
    assert printed.splitlines()[-1] == "True"


def _answer_prompts(fd: int, answers: list[tuple[str, str]], *, timeout: float = 60) -> str:
    """Read the terminal until each prompt appears, then type its answer; everything read, once the child ends."""
    seen = ""
    deadline = time.monotonic() + timeout
    pending = list(answers)
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096).decode(errors="replace")
            except OSError:  # the child closed the terminal
                return seen
            if not chunk:
                return seen
            seen += chunk
        if pending and seen.rstrip().endswith(pending[0][0]):
            os.write(fd, pending.pop(0)[1].encode() + b"\n")
    raise AssertionError(f"no end after {timeout}s: {seen!r}")


def test_at_a_terminal_a_password_that_fails_the_validators_has_no_bypass(database_url: str) -> None:
    args = ["manage.py", "createsuperuser", "--username", "tests-admin-two", "--email", ""]
    pid, fd = pty.fork()
    if pid == 0:  # the child: createsuperuser on the pseudo-terminal, as `docker exec -it` runs it
        os.chdir(APP_DIR)
        os.execve(sys.executable, [sys.executable, *args], {**os.environ, **service_env(database_url)})  # noqa: S606
    # Three weak passwords, each typed twice; Django's command would ask "Bypass ...? [y/N]" after the first.
    answers = [(prompt, "password") for _ in range(3) for prompt in ("Password:", "Password (again):")]
    try:
        seen = _answer_prompts(fd, answers)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)

    assert os.waitstatus_to_exitcode(status) == 1, seen
    assert seen.count("This password is too common.") == 3
    assert "Bypass" not in seen
    assert "No password that passes the validators after 3 attempts." in seen
    assert "tests-admin-two" not in users(database_url)
