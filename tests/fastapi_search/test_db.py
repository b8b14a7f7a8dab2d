"""fastapi_search/db.py: a FastAPI task of a new release that starts before the django service has migrated
waits for the schema.

A stack deploy starts both services at once; answering searches before ``part_totals`` exists would be an
error for every search. Until the migration has run, the worker answers nothing (not even ``/livez``), so
Swarm's start-first update keeps the old task in service.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from tests.servers import Postgres, Server, manage, start_app


def test_fastapi_waits_for_the_migration_then_serves(postgres: Postgres, tmp_path: Path) -> None:
    name = "schema_wait"
    postgres.database_create(name)
    started: list[Server] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            started.append(start_app("fastapi", postgres.app_url(name), tmp_path))
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=start, daemon=True)
    thread.start()
    try:
        time.sleep(4)
        assert not started and not errors, "FastAPI answered before the catalog was migrated"
        assert "waiting for the django service to migrate" in (tmp_path / "fastapi.log").read_text()
        manage(postgres.owner_url(name), "migrate", "--no-input", "-v", "0")
        thread.join(timeout=60)
        assert not errors, errors
        assert started, "FastAPI did not become ready after the migration"
        answer = httpx.post(f"{started[0].base_url}/search/part/", json={}, timeout=10)
        assert answer.status_code == 200
        assert answer.json()["count"] == 0
    finally:
        thread.join(timeout=60)
        for server in started:
            server.stop()
        postgres.database_drop(name)
