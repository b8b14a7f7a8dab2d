"""``manage.py migrate_locked`` (catalog/management/commands/migrate_locked.py): what every django task runs
before serving.

First its decisions without a database: which MIGRATE_LOCK_TIMEOUT values reach SQL, which errors are retried
and how often, how long it waits for the database, the order of its statements around the advisory lock
(unlocked even when migrate fails), whose URL it migrates as, and that SIGTERM becomes the KeyboardInterrupt
psycopg cancels a statement on. Then the command run as the image runs it (``python manage.py migrate_locked``
from the app directory) against a real PostgreSQL: each test migrates a database of its own, as the stack's
tasks do, while another session holds the locks a busy production database would hold.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
from django.db.utils import OperationalError
from psycopg.errors import LockNotAvailable, QueryCanceled

from catalog.management.commands import migrate_locked as migrate_locked_module
from tests.servers import APP_DIR, OWNER_ROLE, Postgres, manage, service_env

# The constant in migrate_locked: every task takes the same advisory lock (written out, so a changed key fails).
MIGRATION_LOCK_KEY = 4_815_162_342
_names = itertools.count()


@pytest.fixture
def migrate_locked() -> ModuleType:
    # Importing the command's module sets nothing up (no settings, no connection): its parts are plain functions.
    return migrate_locked_module


def test_the_lock_key_is_the_one_every_task_takes(migrate_locked: ModuleType) -> None:
    assert migrate_locked.MIGRATION_LOCK_KEY == MIGRATION_LOCK_KEY


def _lock_error() -> OperationalError:
    """What Django raises when PostgreSQL's lock_timeout cancels a statement: psycopg's error as the cause."""
    error = OperationalError("canceling statement due to lock timeout")
    error.__cause__ = LockNotAvailable("canceling statement due to lock timeout")
    return error


class _Clock:
    """time.monotonic and time.sleep for the command: sleeping moves the clock, nothing waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(migrate_locked: ModuleType, monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(migrate_locked, "time", fake)
    return fake


# --- MIGRATE_LOCK_TIMEOUT ---


@pytest.mark.parametrize("value", ["3s", "500ms", "0s", "999999ms", "1s"])
def test_a_lock_timeout_in_s_or_ms_becomes_the_statement(migrate_locked: ModuleType, value: str) -> None:
    assert migrate_locked.lock_timeout_statement(value) == f"SET lock_timeout = '{value}'"


@pytest.mark.parametrize(
    "value",
    [
        *("3", "3S", "3 s", " 3s", "3s ", "3sec", "1m", "1min", "1.5s", "1000000ms", "3s\n"),
        # Never pasted into SQL as given.
        *("1s'; DROP TABLE part; --", "", "5 minutes", "-1s"),
    ],
)
def test_anything_else_is_refused_naming_the_variable(migrate_locked: ModuleType, value: str) -> None:
    with pytest.raises(SystemExit, match="MIGRATE_LOCK_TIMEOUT must look like 3s or 500ms"):
        migrate_locked.lock_timeout_statement(value)


# --- which errors are retried ---


def test_only_a_lock_timeout_counts_as_lock_not_available(migrate_locked: ModuleType) -> None:
    assert migrate_locked.lock_not_available(_lock_error())
    statement_timeout = OperationalError("canceling statement due to statement timeout")
    statement_timeout.__cause__ = QueryCanceled("canceling statement due to statement timeout")
    assert not migrate_locked.lock_not_available(statement_timeout)
    assert not migrate_locked.lock_not_available(OperationalError("connection refused"))
    # psycopg's error unwrapped by Django is not what migrate raises; it is not mistaken for one either.
    assert not migrate_locked.lock_not_available(LockNotAvailable("raw"))
    assert not migrate_locked.lock_not_available(RuntimeError("anything"))


class _Migrate:
    """call_command("migrate") for the command: one scripted outcome per call (None: success), calls recorded."""

    def __init__(self) -> None:
        self.outcomes: list[BaseException | None] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, **options: Any) -> None:
        self.calls.append((name, options))
        outcome = self.outcomes.pop(0)
        if outcome is not None:
            raise outcome


@pytest.fixture
def migrate(migrate_locked: ModuleType, monkeypatch: pytest.MonkeyPatch) -> _Migrate:
    fake = _Migrate()
    monkeypatch.setattr(migrate_locked, "call_command", fake)
    return fake


def test_a_migration_that_gets_its_locks_runs_once(
    migrate_locked: ModuleType, migrate: _Migrate, clock: _Clock
) -> None:
    migrate.outcomes.append(None)
    migrate_locked.migrate_with_retries(attempts=5, pause_seconds=2)
    assert migrate.calls == [("migrate", {"interactive": False, "verbosity": 1})]
    assert clock.slept == []


def test_a_lock_timeout_is_retried_after_a_pause(
    migrate_locked: ModuleType,
    migrate: _Migrate,
    clock: _Clock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    migrate.outcomes.extend([_lock_error(), _lock_error(), None])
    migrate_locked.migrate_with_retries(attempts=5, pause_seconds=1.5)
    assert len(migrate.calls) == 3
    assert clock.slept == [1.5, 1.5]
    err = capsys.readouterr().err
    assert "migrate_locked: lock not available (attempt 1/5); retrying" in err
    assert "(attempt 2/5)" in err


def test_after_the_last_attempt_the_lock_timeout_is_raised(
    migrate_locked: ModuleType, migrate: _Migrate, clock: _Clock
) -> None:
    last = _lock_error()
    migrate.outcomes.extend([_lock_error(), _lock_error(), last])
    with pytest.raises(OperationalError) as raised:
        migrate_locked.migrate_with_retries(attempts=3, pause_seconds=2)
    assert raised.value is last
    assert len(migrate.calls) == 3
    assert clock.slept == [2, 2]  # no pause after the last attempt


def test_any_other_database_error_is_raised_at_once(
    migrate_locked: ModuleType, migrate: _Migrate, clock: _Clock
) -> None:
    migrate.outcomes.append(OperationalError("relation already exists"))
    with pytest.raises(OperationalError, match="relation already exists"):
        migrate_locked.migrate_with_retries(attempts=10, pause_seconds=2)
    assert len(migrate.calls) == 1
    assert clock.slept == []


# --- waiting for the database ---


class _Connection:
    """django.db.connection for the command: ensure_connection fails ``failures`` times; cursor() records SQL."""

    def __init__(self, failures: int = 0, settings_dict: dict[str, Any] | None = None) -> None:
        self.failures = failures
        self.attempts = 0
        self.closed = 0
        self.statements: list[str] = []
        self.settings_dict = settings_dict or {}

    def ensure_connection(self) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise OperationalError(f"connection refused ({self.attempts})")

    def close(self) -> None:
        self.closed += 1

    @contextmanager
    def cursor(self) -> Iterator[_Connection]:
        yield self

    def execute(self, sql: str, params: list[object] | None = None) -> None:
        self.statements.append(sql if params is None else f"{sql} {params}")


def test_the_database_is_awaited_every_2s_until_it_answers(
    migrate_locked: ModuleType, monkeypatch: pytest.MonkeyPatch, clock: _Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    connection = _Connection(failures=3)
    monkeypatch.setattr(migrate_locked, "connection", connection)
    migrate_locked.database_wait(timeout_seconds=120)
    assert connection.attempts == 4
    # A failed attempt's connection is closed, so the next one starts afresh.
    assert connection.closed == 3
    assert clock.slept == [2, 2, 2]
    assert "migrate_locked: waiting for the database: connection refused (1)\n" in capsys.readouterr().err


def test_a_database_that_never_answers_ends_the_task_after_the_wait(
    migrate_locked: ModuleType, monkeypatch: pytest.MonkeyPatch, clock: _Clock
) -> None:
    connection = _Connection(failures=1000)
    monkeypatch.setattr(migrate_locked, "connection", connection)
    with pytest.raises(SystemExit, match=r"database unreachable after 10s: connection refused \(6\)"):
        migrate_locked.database_wait(timeout_seconds=10)
    # Tries at 0, 2, 4, 6, 8 and 10 s: the one at the deadline is the last.
    assert connection.attempts == 6


# --- around the advisory lock ---


def test_the_lock_is_taken_without_a_statement_timeout_and_the_lock_timeout_set_after(
    migrate_locked: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    migrate: _Migrate,
    clock: _Clock,
) -> None:
    connection = _Connection()
    monkeypatch.setattr(migrate_locked, "connection", connection)
    monkeypatch.setenv("MIGRATE_LOCK_TIMEOUT", "750ms")
    monkeypatch.setenv("MIGRATE_LOCK_ATTEMPTS", "2")
    monkeypatch.setenv("MIGRATE_LOCK_PAUSE_SECONDS", "0.5")
    migrate.outcomes.extend([_lock_error(), None])
    migrate_locked.migrations_apply_locked()
    assert connection.statements == [
        "SET statement_timeout = 0",
        f"SELECT pg_advisory_lock(%s) [{MIGRATION_LOCK_KEY}]",
        "SET lock_timeout = '750ms'",
        f"SELECT pg_advisory_unlock(%s) [{MIGRATION_LOCK_KEY}]",
    ]
    assert clock.slept == [0.5]


def test_the_lock_is_released_when_migrate_fails(
    migrate_locked: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    migrate: _Migrate,
    clock: _Clock,
) -> None:
    connection = _Connection()
    monkeypatch.setattr(migrate_locked, "connection", connection)
    monkeypatch.setenv("MIGRATE_LOCK_ATTEMPTS", "1")
    migrate.outcomes.append(_lock_error())
    with pytest.raises(OperationalError):
        migrate_locked.migrations_apply_locked()
    assert connection.statements[-1].startswith("SELECT pg_advisory_unlock(%s)")


def test_a_bad_lock_timeout_refuses_before_migrating(
    migrate_locked: ModuleType, monkeypatch: pytest.MonkeyPatch, migrate: _Migrate
) -> None:
    connection = _Connection()
    monkeypatch.setattr(migrate_locked, "connection", connection)
    monkeypatch.setenv("MIGRATE_LOCK_TIMEOUT", "3 seconds")
    with pytest.raises(SystemExit):
        migrate_locked.migrations_apply_locked()
    assert migrate.calls == []


# --- whose URL, and SIGTERM ---

APPS_URL = "postgres://app:rows-only@postgres:5432/partscat"


def test_migrations_run_as_the_owner_from_its_secret_file(
    migrate_locked: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "migrate_database_url"
    secret.write_text("postgres://owner:s3cret@postgres:5432/partscat\n")
    monkeypatch.setenv("DATABASE_URL", APPS_URL)
    monkeypatch.delenv("MIGRATE_DATABASE_URL", raising=False)
    monkeypatch.setenv("MIGRATE_DATABASE_URL_FILE", str(secret))
    # The apps' entry as Django holds it once the settings are loaded: their URL's fields, plus Django's own keys.
    apps = {"NAME": "partscat", "USER": "app", "PASSWORD": "rows-only", "HOST": "postgres", "PORT": "5432"}
    connection = _Connection(settings_dict={**apps, "TIME_ZONE": None, "ATOMIC_REQUESTS": False})
    monkeypatch.setattr(migrate_locked, "connection", connection)
    migrate_locked.owner_database_use()
    entry = connection.settings_dict
    assert (entry["USER"], entry["PASSWORD"], entry["HOST"], entry["PORT"], entry["NAME"]) == (
        "owner",
        "s3cret",
        "postgres",
        "5432",
        "partscat",
    )
    # The rest as the settings build it from a URL; Django's own keys stay; no connection as the apps' role is kept.
    assert entry["OPTIONS"]["application_name"] == "django"
    assert (entry["TIME_ZONE"], entry["ATOMIC_REQUESTS"]) == (None, False)
    assert connection.closed == 1


def test_without_the_owners_url_it_fails_naming_the_variable(
    migrate_locked: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", APPS_URL)
    monkeypatch.delenv("MIGRATE_DATABASE_URL", raising=False)
    monkeypatch.delenv("MIGRATE_DATABASE_URL_FILE", raising=False)
    connection = _Connection(settings_dict={"USER": "app"})
    monkeypatch.setattr(migrate_locked, "connection", connection)
    with pytest.raises(Exception, match=r"MIGRATE_DATABASE_URL \(or MIGRATE_DATABASE_URL_FILE\) must be set"):
        migrate_locked.owner_database_use()
    assert connection.settings_dict == {"USER": "app"}


def test_sigterm_is_raised_as_a_keyboard_interrupt(migrate_locked: ModuleType) -> None:
    # psycopg sends the server a cancel for the statement in flight on KeyboardInterrupt, and only on it.
    with pytest.raises(KeyboardInterrupt):
        migrate_locked._terminate(15, None)


def test_the_command_takes_sigterm_then_the_owners_url_then_waits_and_migrates(
    migrate_locked: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    steps: list[str] = []

    def handler_set(signum: int, handler: Any) -> None:
        steps.append(f"signal {signum} {handler.__name__}")

    def owner() -> None:
        steps.append("owner")

    def wait(*, timeout_seconds: float) -> None:
        steps.append(f"wait {timeout_seconds}")

    def apply() -> None:
        steps.append("apply")
        migrate_locked._terminate(signal.SIGTERM, None)

    monkeypatch.setattr(migrate_locked.signal, "signal", handler_set)
    monkeypatch.setattr(migrate_locked, "owner_database_use", owner)
    monkeypatch.setattr(migrate_locked, "database_wait", wait)
    monkeypatch.setattr(migrate_locked, "migrations_apply_locked", apply)
    monkeypatch.setenv("MIGRATE_DB_WAIT_SECONDS", "30")
    with pytest.raises(SystemExit) as exited:
        migrate_locked.Command().handle()
    assert steps == [f"signal {signal.SIGTERM} _terminate", "owner", "wait 30.0", "apply"]
    # SIGTERM's status, as a shell reports a process it killed.
    assert exited.value.code == 143
    assert "migrate_locked: SIGTERM: the statement in flight was cancelled; exiting\n" in capsys.readouterr().err


# --- the command against PostgreSQL, run as the image runs it ---


@pytest.fixture
def fresh_url(postgres: Postgres) -> Iterator[str]:
    name = f"migrate_{os.getpid()}_{next(_names)}"
    postgres.database_create(name)
    # The owner role's URL: what migrations connect as, and what the tests' "other task" uses too.
    yield postgres.owner_url(name)
    postgres.database_drop(name)


def _start(url: str, **extra: str) -> subprocess.Popen[str]:
    """``python manage.py migrate_locked`` from the app directory, as scripts/images/app-entrypoint.sh runs it."""
    env = {
        **os.environ,
        **service_env(url),
        "MIGRATE_DATABASE_URL": url,
        **extra,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "migrate_locked"], cwd=APP_DIR, env=env, stderr=subprocess.PIPE, text=True
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


def test_migrates_as_the_owner_while_the_settings_name_the_apps_role(postgres: Postgres, fresh_url: str) -> None:
    # DATABASE_URL is the apps' role, which may create nothing: migrations succeed only as MIGRATE_DATABASE_URL.
    dbname = fresh_url.rsplit("/", 1)[1]
    process = _start(fresh_url, DATABASE_URL=postgres.app_url(dbname))
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert _unapplied(fresh_url) == 0
    with psycopg.connect(fresh_url) as owner:
        assert owner.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'part'").fetchone() == (OWNER_ROLE,)


def _migrate_while_locked(url: str, *, hold_seconds: float | None, attempts: int) -> tuple[int, str]:
    """Migrate while a long transaction holds the table the next migrations must write to; the transaction
    ends `hold_seconds` after migrate_locked's first message (never, if None). Returns its exit status and stderr.

    Counted from that message, not from the start: on a loaded machine Django's start alone can take the 2 s,
    and the lock would be gone before the command reached it."""
    manage(url, "migrate", "contenttypes", "--no-input", "-v", "0")
    with psycopg.connect(url) as traffic:
        traffic.execute("LOCK TABLE django_migrations IN ACCESS EXCLUSIVE MODE")
        process = _start(
            url, MIGRATE_LOCK_TIMEOUT="150ms", MIGRATE_LOCK_PAUSE_SECONDS="0.2", MIGRATE_LOCK_ATTEMPTS=str(attempts)
        )
        first = ""
        if hold_seconds is not None:
            assert process.stderr is not None
            first = process.stderr.readline()
            time.sleep(hold_seconds)
            assert process.poll() is None, first
            traffic.rollback()
        _, stderr = process.communicate(timeout=120)
    return process.returncode, first + stderr


def test_a_table_lock_held_by_traffic_makes_it_retry_not_queue_or_fail(fresh_url: str) -> None:
    status, stderr = _migrate_while_locked(fresh_url, hold_seconds=2, attempts=20)
    assert status == 0, stderr
    assert "lock not available" in stderr
    assert _unapplied(fresh_url) == 0


def test_gives_up_when_the_lock_never_comes(fresh_url: str) -> None:
    status, stderr = _migrate_while_locked(fresh_url, hold_seconds=None, attempts=3)
    assert status != 0
    assert "LockNotAvailable" in stderr or "lock timeout" in stderr


def test_a_malformed_lock_timeout_ends_it_before_migrating(fresh_url: str) -> None:
    process = _start(fresh_url, MIGRATE_LOCK_TIMEOUT="3 seconds")
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr
    assert "migrate_locked: MIGRATE_LOCK_TIMEOUT must look like 3s or 500ms, not '3 seconds'" in stderr
    assert _unapplied(fresh_url) > 0


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
    assert "migrate_locked: SIGTERM" in stderr
    assert took < 3, took
    # The server-side wait was cancelled too, not left behind the dead client.
    assert waiting == (0,)
