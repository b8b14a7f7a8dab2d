"""fastapi_search/db.py: a FastAPI task of a new release that starts before the django service has migrated
waits for the schema; and the pool hands a connection back without a reset query, which is safe because no
search leaves session state behind.

A stack deploy starts both services at once; answering searches before ``part_totals`` exists would be an
error for every search. Until the migration has run, the worker answers nothing (not even ``/livez``), so
Swarm's start-first update keeps the old task in service.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import httpx

from fastapi_search.db import pool_create
from fastapi_search.search import part_search
from search_contract import PartFilters
from service_common.environment import DatabaseLimits
from tests.servers import Postgres, Server, manage, start_app

# Searches that take every step (groups, a price's bands or summed parts, a stock count's parts, the page) on
# the test catalog, with every filter among them.
SEARCHES = (
    PartFilters(),
    PartFilters(mark_name="Honda", part_name="бамп", color="черный", price_lte=50_000),
    PartFilters(model_name="Camry", part_name="фара", is_new_part=True, price_gte=1_000),
    PartFilters(producer_country_name="Япония", count=3, page=2),
    PartFilters(mark_ids=(1, 2), model_ids=(1,), price_gte=10, price_lte=90_000),
)
# What a connection's session holds that RESET ALL, CLOSE ALL, UNLISTEN * and pg_advisory_unlock_all() would
# undo: settings other than RESET ALL would give (asyncpg's type introspection sets jit off and back), channels
# listened to, open cursors and advisory locks. A fresh connection holds none.
SESSION_STATE_SQL = """
SELECT (SELECT count(*) FROM pg_settings WHERE source = 'session' AND setting IS DISTINCT FROM reset_val)
     + (SELECT count(*) FROM pg_listening_channels())
     + (SELECT count(*) FROM pg_cursors WHERE name <> '')  -- '': the portal of this statement itself
     + (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())
"""


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


async def _search_then_release(database_url: str) -> tuple[list[str], list[int], list[str]]:
    """Every search of SEARCHES on one pooled connection, logging what the connection sends until it is back in
    the pool (asyncpg calls the logger soon after each statement); then each connection's session state and
    plan_cache_mode."""
    pool = await pool_create(database_url=database_url, limits=DatabaseLimits(), connect_wait_seconds=5)
    try:
        sent: list[str] = []
        async with pool.acquire() as connection:
            connection.add_query_logger(lambda record: sent.append(record.query))
            for filters in SEARCHES:
                await part_search(connection, filters=filters)
        await asyncio.sleep(0.2)
        connections = [await pool.acquire() for _ in range(pool.get_size())]
        try:
            states = [await connection.fetchval(SESSION_STATE_SQL) for connection in connections]
            modes = [await connection.fetchval("SHOW plan_cache_mode") for connection in connections]
        finally:
            for connection in connections:
                await pool.release(connection)
        return sent, states, modes
    finally:
        await pool.close()


def test_a_connection_goes_back_to_the_pool_without_a_reset_and_searches_leave_no_session_state(
    database_url: str,
) -> None:
    sent, states, modes = asyncio.run(_search_then_release(database_url))
    # The searches' statements, and nothing on release (asyncpg's default sends "SELECT
    # pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;" every time)...
    assert len(sent) >= 2 * len(SEARCHES), sent
    assert [query for query in sent if "RESET ALL" in query or "UNLISTEN" in query] == []
    # ...which is only safe while no search changes the session: every connection, the one that ran the searches
    # included, holds nothing but its startup parameters.
    assert states == [0] * len(states), states
    assert modes == ["force_custom_plan"] * len(modes)
