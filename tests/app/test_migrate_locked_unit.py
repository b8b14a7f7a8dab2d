"""scripts/images/migrate_locked.py's decisions without a database (test_migrate_locked.py runs it end to end):
which MIGRATE_LOCK_TIMEOUT values reach SQL, which errors are retried and how often, how long it waits for the
database, the order of its statements around the advisory lock (unlocked even when migrate fails), whose URL
it migrates as, and that SIGTERM becomes the KeyboardInterrupt psycopg cancels a statement on."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.db.utils import OperationalError
from psycopg.errors import LockNotAvailable, QueryCanceled

MIGRATE_LOCKED = Path(__file__).resolve().parents[2] / "scripts" / "images" / "migrate_locked.py"


@pytest.fixture(scope="module")
def migrate_locked() -> ModuleType:
    # A script copied into the image, not a package: loaded by path. Importing it sets nothing up (no django.setup()).
    spec = importlib.util.spec_from_file_location("migrate_locked_under_test", MIGRATE_LOCKED)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lock_error() -> OperationalError:
    """What Django raises when PostgreSQL's lock_timeout cancels a statement: psycopg's error as the cause."""
    error = OperationalError("canceling statement due to lock timeout")
    error.__cause__ = LockNotAvailable("canceling statement due to lock timeout")
    return error


class _Clock:
    """time.monotonic and time.sleep for the script: sleeping moves the clock, nothing waits."""

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


@pytest.mark.parametrize("value", ["3", "3S", "3 s", " 3s", "3s ", "3sec", "1m", "1min", "1.5s", "1000000ms", "3s\n"])
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
    """call_command("migrate") for the script: one scripted outcome per call (None: success), calls recorded."""

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
    assert "lock not available (attempt 1/5); retrying" in err
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
    """django.db.connection for the script: ensure_connection fails ``failures`` times; cursor() records SQL."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.attempts = 0
        self.closed = 0
        self.statements: list[str] = []

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
    migrate_locked: ModuleType, monkeypatch: pytest.MonkeyPatch, clock: _Clock
) -> None:
    connection = _Connection(failures=3)
    monkeypatch.setattr(migrate_locked, "connection", connection)
    migrate_locked.database_wait(timeout_seconds=120)
    assert connection.attempts == 4
    # A failed attempt's connection is closed, so the next one starts afresh.
    assert connection.closed == 3
    assert clock.slept == [2, 2, 2]


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
    key = migrate_locked.MIGRATION_LOCK_KEY
    assert connection.statements == [
        "SET statement_timeout = 0",
        f"SELECT pg_advisory_lock(%s) [{key}]",
        "SET lock_timeout = '750ms'",
        f"SELECT pg_advisory_unlock(%s) [{key}]",
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


def test_migrations_run_as_the_owner_from_its_secret_file(
    migrate_locked: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "migrate_database_url"
    secret.write_text("postgres://owner:s3cret@postgres:5432/partscat\n")
    monkeypatch.setenv("DATABASE_URL", "postgres://app:rows-only@postgres:5432/partscat")
    monkeypatch.delenv("MIGRATE_DATABASE_URL", raising=False)
    monkeypatch.setenv("MIGRATE_DATABASE_URL_FILE", str(secret))
    migrate_locked.owner_database_use()
    assert migrate_locked.os.environ["DATABASE_URL"] == "postgres://owner:s3cret@postgres:5432/partscat"


def test_without_the_owners_url_it_fails_naming_the_variable(
    migrate_locked: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MIGRATE_DATABASE_URL", raising=False)
    monkeypatch.delenv("MIGRATE_DATABASE_URL_FILE", raising=False)
    with pytest.raises(Exception, match=r"MIGRATE_DATABASE_URL \(or MIGRATE_DATABASE_URL_FILE\) must be set"):
        migrate_locked.owner_database_use()


def test_sigterm_is_raised_as_a_keyboard_interrupt(migrate_locked: ModuleType) -> None:
    # psycopg sends the server a cancel for the statement in flight on KeyboardInterrupt, and only on it.
    with pytest.raises(KeyboardInterrupt):
        migrate_locked._terminate(15, None)
