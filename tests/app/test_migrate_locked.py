"""scripts/images/migrate_locked.py against a real PostgreSQL: what every django task runs before serving.

Each test migrates a database of its own, as the stack's tasks do, while another session holds the locks a
busy production database would hold.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.servers import APP_DIR, ROOT, Postgres, manage, service_env

MIGRATE_LOCKED = ROOT / "scripts" / "images" / "migrate_locked.py"
# The constant in migrate_locked.py: every task takes the same advisory lock.
MIGRATION_LOCK_KEY = 4_815_162_342
_names = itertools.count()


@pytest.fixture
def fresh_url(postgres: Postgres) -> Iterator[str]:
    name = f"migrate_{os.getpid()}_{next(_names)}"
    postgres.database_create(name)
    # The owner role's URL: what migrations connect as, and what the tests' "other task" uses too.
    yield postgres.owner_url(name)
    postgres.database_drop(name)


def _start(url: str, **extra: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        **service_env(url),
        "MIGRATE_DATABASE_URL": url,
        **extra,
    }
    return subprocess.Popen(
        [sys.executable, str(MIGRATE_LOCKED)], cwd=APP_DIR, env=env, stderr=subprocess.PIPE, text=True
    )


def _unapplied(url: str) -> int:
    return manage(url, "showmigrations", "--plan").count("[ ]")


def test_waits_for_another_tasks_migrations_longer_than_the_request_statement_timeout(fresh_url: str) -> None:
    with psycopg.connect(fresh_url, autocommit=True) as other_task:
        other_task.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
        # A request statement timeout of 0.3 s would cancel this wait; migrations run without one.
        process = _start(fresh_url, DB_STATEMENT_TIMEOUT_MS="300")
        time.sleep(1.5)
        assert process.poll() is None, process.communicate()[1]
        other_task.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_KEY])
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert _unapplied(fresh_url) == 0


def _migrate_while_locked(url: str, *, hold_seconds: float | None, attempts: int) -> tuple[int, str]:
    """Migrate while a long transaction holds the table the next migrations must write to; the transaction
    ends after `hold_seconds` (never, if None). Returns migrate_locked.py's exit status and stderr."""
    manage(url, "migrate", "contenttypes", "--no-input", "-v", "0")
    with psycopg.connect(url) as traffic:
        traffic.execute("LOCK TABLE django_migrations IN ACCESS EXCLUSIVE MODE")
        process = _start(
            url, MIGRATE_LOCK_TIMEOUT="150ms", MIGRATE_LOCK_PAUSE_SECONDS="0.2", MIGRATE_LOCK_ATTEMPTS=str(attempts)
        )
        if hold_seconds is not None:
            time.sleep(hold_seconds)
            assert process.poll() is None
            traffic.rollback()
        _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


def test_a_table_lock_held_by_traffic_makes_it_retry_not_queue_or_fail(fresh_url: str) -> None:
    status, stderr = _migrate_while_locked(fresh_url, hold_seconds=2, attempts=20)
    assert status == 0, stderr
    assert "lock not available" in stderr
    assert _unapplied(fresh_url) == 0


def test_gives_up_when_the_lock_never_comes(fresh_url: str) -> None:
    status, stderr = _migrate_while_locked(fresh_url, hold_seconds=None, attempts=3)
    assert status != 0
    assert "LockNotAvailable" in stderr or "lock timeout" in stderr


def test_sigterm_cancels_the_statement_in_flight_and_exits_at_once(fresh_url: str) -> None:
    with psycopg.connect(fresh_url, autocommit=True) as other_task:
        other_task.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
        process = _start(fresh_url)
        # Wait until it really is blocked inside PostgreSQL, then stop it the way Swarm does.
        deadline = time.monotonic() + 60
        while not other_task.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ).fetchone()[0]:  # type: ignore[index]
            assert time.monotonic() < deadline, "migrate_locked never waited for the lock"
            time.sleep(0.1)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
        took = time.monotonic() - started
        waiting = other_task.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ).fetchone()
    assert process.returncode == 143, stderr
    assert "SIGTERM" in stderr
    assert took < 3, took
    # The server-side wait was cancelled too, not left behind the dead client.
    assert waiting == (0,)


def test_lock_timeout_setting_is_checked_not_pasted() -> None:
    spec = importlib.util.spec_from_file_location("migrate_locked", MIGRATE_LOCKED)
    assert spec is not None and spec.loader is not None
    migrate_locked = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migrate_locked)
    assert migrate_locked.lock_timeout_statement("500ms") == "SET lock_timeout = '500ms'"
    for bad in ("1s'; DROP TABLE part; --", "", "5 minutes", "-1s"):
        with pytest.raises(SystemExit):
            migrate_locked.lock_timeout_statement(bad)
