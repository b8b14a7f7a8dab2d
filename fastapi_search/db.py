"""The worker's asyncpg pool, and the wait for the schema this release reads; created by the lifespan (main.py)."""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg
import orjson

from fastapi_search.keepalives import tcp_keepalives_enable
from fastapi_search.queries import SCHEMA_READY
from service_common.environment import DatabaseLimits

# Prepared statements kept per pooled connection, least recently used first out.
STATEMENT_CACHE_SIZE = 512
# Failures of the connection itself (server gone, refused, restarting), not of a query.
DATABASE_CONNECTION_ERRORS = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
)
logger = logging.getLogger(__name__)


async def _session_kept(connection: asyncpg.Connection) -> None:
    """The pool's reset: nothing. asyncpg's default sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL;`` at every release, a round trip of four statements per search, to undo session
    state that this service never makes: its settings are startup parameters (``server_settings`` below),
    and it takes no advisory lock, opens no cursor outside a transaction, LISTENs to nothing and runs no SET
    (tests/fastapi_search/test_db.py keeps it so). An open transaction is still rolled back by the pool
    before this runs. Measured in a FastAPI task, one search at a time over the task workload at 10 000
    parts, four alternating runs each way: the worker's CPU 0.63-0.88 -> 0.55-0.75 ms a search, and
    PostgreSQL's 1.40-1.80 -> 1.18-1.54 s over each run's 1 400 searches and 1 200 health checks. Through wrk
    at 32 connections the difference was inside the machine's noise (510-700 searches a second either way)."""


async def pool_create(*, database_url: str, limits: DatabaseLimits, connect_wait_seconds: float) -> asyncpg.Pool:
    """The worker's pool; waits for the database (a cold deploy starts it alongside us)."""

    async def connection_init(connection: asyncpg.Connection) -> None:
        tcp_keepalives_enable(connection, limits=limits)
        # jsonb in and out as Python objects, decoded by orjson.
        await connection.set_type_codec(
            "jsonb",
            schema="pg_catalog",
            encoder=lambda value: orjson.dumps(value).decode(),
            decoder=orjson.loads,
        )

    deadline = time.monotonic() + connect_wait_seconds
    while True:
        try:
            return await asyncpg.create_pool(
                database_url,
                # One connection per search slot (slots.py), and one more that readiness never waits for.
                min_size=limits.concurrency + 1,
                max_size=limits.concurrency + 1,
                init=connection_init,
                # Connect to a lost node: fail after this long. A statement: the server cancels it at
                # statement_timeout; the client gives up one second later if the server cannot even say so.
                timeout=limits.connect_timeout_s,
                command_timeout=limits.statement_timeout_ms / 1000 + 1,
                # One prepared statement per search shape (queries.py): a shape is the set of filters given,
                # and every shape fits: at most about 210 statements in the bench's mixes, 50 000 bodies included.
                statement_cache_size=STATEMENT_CACHE_SIZE,
                reset=_session_kept,
                server_settings={
                    # See queries.py: each execution planned with its values, never a generic plan.
                    "plan_cache_mode": "force_custom_plan",
                    "statement_timeout": str(limits.statement_timeout_ms),
                    "application_name": "fastapi_search",
                },
            )
        except (OSError, asyncpg.PostgresError) as error:
            if time.monotonic() >= deadline:
                raise
            logger.warning("database not reachable yet (%s); retrying", error)
            await asyncio.sleep(1)


async def schema_wait(pool: asyncpg.Pool, *, wait_seconds: float) -> None:
    """Wait until the tables this release reads exist.

    The django service migrates (app/catalog/management/commands/migrate_locked.py); a stack deploy starts
    both services at once, so a new FastAPI task can be up before the migration that adds ``part_totals``
    (0004) has run, and would answer every search with an error. Waiting here keeps it from answering at all
    (``/livez`` too), so Swarm's start-first update leaves the old task serving until the schema is there.
    """
    deadline = time.monotonic() + wait_seconds
    while True:
        async with pool.acquire() as connection:
            if await connection.fetchval(SCHEMA_READY):
                return
        if time.monotonic() >= deadline:
            raise RuntimeError("the catalog schema is not migrated (no part_totals): is the django service up?")
        logger.warning("waiting for the django service to migrate the catalog (no part_totals yet)")
        await asyncio.sleep(1)
