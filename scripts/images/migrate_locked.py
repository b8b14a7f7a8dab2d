"""Apply Django migrations under a PostgreSQL advisory lock, so tasks starting together never race.

Every django task runs this before gunicorn (RUN_MIGRATIONS=1 in stack.yml). The first one to take the
lock migrates; the others wait for it, then find nothing left to apply. It first waits for the database,
because on a fresh deploy Postgres may still be initialising.
"""

from __future__ import annotations

import os
import sys
import time

import django
from django.core.management import call_command
from django.db import connection
from django.db.utils import OperationalError

# Any constant works; all tasks must use the same one.
MIGRATION_LOCK_KEY = 4_815_162_342


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
            print(f"migrate_locked: waiting for the database: {error}".strip(), file=sys.stderr)
            connection.close()
            time.sleep(2)


def migrations_apply_locked() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
    try:
        call_command("migrate", interactive=False, verbosity=1)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_KEY])


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    django.setup()
    database_wait(timeout_seconds=float(os.environ.get("MIGRATE_DB_WAIT_SECONDS", "120")))
    migrations_apply_locked()


if __name__ == "__main__":
    main()
