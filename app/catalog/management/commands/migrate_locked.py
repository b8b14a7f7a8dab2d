"""``manage.py migrate_locked``: apply Django migrations under a PostgreSQL advisory lock, so tasks starting
together never race.

Every django task runs this before gunicorn (RUN_MIGRATIONS=1 in stack.yml, scripts/images/app-entrypoint.sh).
The first one to take the lock migrates; the others wait for it, then find nothing left to apply. It first
waits for the database, because on a fresh deploy Postgres may still be initialising.

Migrations connect as the schema owner, MIGRATE_DATABASE_URL (or MIGRATE_DATABASE_URL_FILE, a secret only
the django web services mount); the apps' own DATABASE_URL, which the settings read, is a role that may only
read and write rows.

Migrations must never take the serving stack down:
- No statement timeout (the requests' 5 s would cancel a long index build), but a short ``lock_timeout``:
  a migration that needs a table lock while searches hold the table gives up after MIGRATE_LOCK_TIMEOUT
  instead of queueing every later search behind its lock request, and is retried a few times.
- SIGTERM (Swarm stopping a task that is still migrating) cancels the running statement through psycopg
  and exits: a transactional migration rolls back, and an interrupted ``CREATE INDEX CONCURRENTLY`` is
  dropped and built again by the next attempt (catalog.operations.AddIndexConcurrentlyResumable).

Its messages go to stderr prefixed ``migrate_locked:``; ``migrate``'s own output goes to stdout.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from types import FrameType
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.utils import OperationalError
from psycopg.errors import LockNotAvailable

from service_common.environment import env_value

# Any constant works; all tasks must use the same one.
MIGRATION_LOCK_KEY = 4_815_162_342


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C: psycopg cancels the statement in flight on a KeyboardInterrupt."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def lock_timeout_statement(value: str) -> str:
    """``SET lock_timeout`` for MIGRATE_LOCK_TIMEOUT, e.g. ``3s`` or ``500ms`` (checked, never pasted raw)."""
    if not re.fullmatch(r"[0-9]{1,6}(ms|s)", value):
        raise SystemExit(f"migrate_locked: MIGRATE_LOCK_TIMEOUT must look like 3s or 500ms, not {value!r}")
    return f"SET lock_timeout = '{value}'"


def lock_not_available(error: BaseException) -> bool:
    return isinstance(error, OperationalError) and isinstance(error.__cause__, LockNotAvailable)


def database_wait(*, timeout_seconds: float) -> None:
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            connection.ensure_connection()
            return
        except OperationalError as error:
            if time.monotonic() >= deadline:
                message = f"migrate_locked: database unreachable after {timeout_seconds:.0f}s: {error}"
                raise SystemExit(message) from error
            sys.stderr.write(f"migrate_locked: waiting for the database: {error}".strip() + "\n")
            connection.close()
            time.sleep(2)


def migrate_with_retries(*, attempts: int, pause_seconds: float) -> None:
    """``manage.py migrate``; a migration that could not get its table lock in time is tried again."""
    for attempt in range(1, attempts + 1):
        try:
            call_command("migrate", interactive=False, verbosity=1)
            return
        except OperationalError as error:
            if not lock_not_available(error) or attempt == attempts:
                raise
            sys.stderr.write(f"migrate_locked: lock not available (attempt {attempt}/{attempts}); retrying\n")
            time.sleep(pause_seconds)


def migrations_apply_locked() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        # Waiting here for another task's migrations may take long: the lock timeout comes after.
        cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
        cursor.execute(lock_timeout_statement(os.environ.get("MIGRATE_LOCK_TIMEOUT", "3s")))
    try:
        migrate_with_retries(
            attempts=int(os.environ.get("MIGRATE_LOCK_ATTEMPTS", "10")),
            pause_seconds=float(os.environ.get("MIGRATE_LOCK_PAUSE_SECONDS", "2")),
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_KEY])


def owner_database_use() -> None:
    """Connect as the owner (MIGRATE_DATABASE_URL) from here on, not as the settings' DATABASE_URL.

    The settings are loaded before a command runs, so the owner's URL replaces the connection's entry in
    place, before the first connection (one already open is closed): the same entry the settings would have
    built from that URL, since database_from_url builds both.
    """
    url = env_value("MIGRATE_DATABASE_URL")
    # Imported here, not at the top: the settings module reads DATABASE_URL when first imported, and by now
    # Django has imported it (every settings module starts from base).
    from config.settings.base import database_from_url  # noqa: PLC0415

    owner = database_from_url(url)
    connection.close()
    connection.settings_dict.update(owner)


class Command(BaseCommand):
    help = (
        "Wait for the database, then apply migrations as the schema owner (MIGRATE_DATABASE_URL) under a "
        "PostgreSQL advisory lock, with no statement timeout and a MIGRATE_LOCK_TIMEOUT lock timeout (default "
        "3s), retrying a migration that timed out on a table lock (MIGRATE_LOCK_ATTEMPTS, default 10, "
        "MIGRATE_LOCK_PAUSE_SECONDS apart, default 2). MIGRATE_DB_WAIT_SECONDS (default 120) bounds the wait "
        "for the database. SIGTERM cancels the statement in flight and exits with status 143."
    )
    # No system checks first, as `migrate` run by call_command has none: nothing to print or connect before
    # the owner's URL is in place.
    requires_system_checks = []

    def handle(self, *args: Any, **options: Any) -> None:
        signal.signal(signal.SIGTERM, _terminate)
        owner_database_use()
        try:
            database_wait(timeout_seconds=float(os.environ.get("MIGRATE_DB_WAIT_SECONDS", "120")))
            migrations_apply_locked()
        except Terminated:
            sys.stderr.write("migrate_locked: SIGTERM: the statement in flight was cancelled; exiting\n")
            raise SystemExit(143) from None
