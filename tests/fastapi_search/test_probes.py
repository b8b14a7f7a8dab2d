"""fastapi_search/probes.py: both services' probes answer from service_common/health.py, the same bytes for
every method; readiness is "database unavailable" whenever the pool's spare connection does not answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import cast

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from fastapi_search.error_handlers import error_handlers_add
from fastapi_search.probes import HEALTH_WAIT_SECONDS, probes_add
from service_common.health import HEALTH_CHECK_SQL
from tests.servers import Server


def _answer(server: Server, method: str, path: str) -> tuple[int, bytes, str | None]:
    response = httpx.request(method, f"{server.base_url}{path}")
    return response.status_code, response.content, response.headers.get("allow")


def test_probes_answer_alike_for_every_method(django_server: Server, fastapi_server: Server) -> None:
    for path in ("/livez", "/healthz"):
        for method in ("GET", "HEAD", "POST", "DELETE"):
            django, fastapi = _answer(django_server, method, path), _answer(fastapi_server, method, path)
            assert django == fastapi, (method, path)
    assert _answer(fastapi_server, "GET", "/livez") == (200, b'{"status":"alive"}', None)
    assert _answer(fastapi_server, "HEAD", "/healthz")[:2] == (200, b"")
    assert _answer(fastapi_server, "POST", "/livez")[0::2] == (405, "GET, HEAD")


class _Connection:
    def __init__(self, failure: BaseException | None) -> None:
        self.failure = failure
        self.asked: list[tuple[str, float]] = []

    async def fetchval(self, sql: str, *, timeout: float) -> int:
        self.asked.append((sql, timeout))
        if self.failure is not None:
            raise self.failure
        return 1


class _Pool:
    """Hands out one connection, or fails to, as a pool whose database is up, gone or slow would."""

    def __init__(self, *, acquire_failure: BaseException | None = None, query_failure: BaseException | None = None):
        self.acquire_failure = acquire_failure
        self.connection = _Connection(query_failure)
        self.timeouts: list[float] = []

    @asynccontextmanager
    async def acquire(self, *, timeout: float) -> AsyncIterator[_Connection]:
        self.timeouts.append(timeout)
        if self.acquire_failure is not None:
            raise self.acquire_failure
        yield self.connection


async def _probe(pool: _Pool, drain_marker: Path, path: str) -> httpx.Response:
    app = FastAPI()
    probes_add(app, drain_marker=str(drain_marker))
    error_handlers_add(app)

    async def with_worker_state(scope: Scope, receive: Receive, send: Send) -> None:
        # What the server does with the mapping the lifespan yields (main.py, worker_state.py).
        scope["state"] = {"pool": cast(asyncpg.Pool, pool)}
        await app(scope, receive, send)

    transport = httpx.ASGITransport(app=with_worker_state)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path)


def test_readiness_asks_the_database_within_the_health_wait(tmp_path: Path) -> None:
    pool = _Pool()
    answer = asyncio.run(_probe(pool, tmp_path / "draining", "/healthz"))
    assert (answer.status_code, answer.content) == (200, b'{"status":"ok"}')
    assert pool.timeouts == [HEALTH_WAIT_SECONDS]
    assert pool.connection.asked == [(HEALTH_CHECK_SQL, HEALTH_WAIT_SECONDS)]


@pytest.mark.parametrize(
    "pool",
    [
        _Pool(acquire_failure=TimeoutError()),
        _Pool(acquire_failure=ConnectionRefusedError()),
        _Pool(acquire_failure=asyncpg.CannotConnectNowError("the database system is starting up")),
        _Pool(query_failure=TimeoutError()),
        _Pool(query_failure=asyncpg.AdminShutdownError("terminating connection due to administrator command")),
        _Pool(query_failure=asyncpg.QueryCanceledError("canceling statement due to statement timeout")),
        _Pool(query_failure=asyncpg.InterfaceError("connection is closed")),
    ],
    ids=lambda pool: type(pool.acquire_failure or pool.connection.failure).__name__,
)
def test_readiness_is_unavailable_when_the_database_does_not_answer(pool: _Pool, tmp_path: Path) -> None:
    answer = asyncio.run(_probe(pool, tmp_path / "draining", "/healthz"))
    assert (answer.status_code, answer.content) == (503, b'{"status":"database unavailable"}')


def test_a_draining_task_is_not_ready_and_still_alive(tmp_path: Path) -> None:
    marker = tmp_path / "draining"
    marker.touch()
    pool = _Pool()
    ready = asyncio.run(_probe(pool, marker, "/healthz"))
    alive = asyncio.run(_probe(pool, marker, "/livez"))
    assert (ready.status_code, ready.content) == (503, b'{"status":"draining"}')
    assert (alive.status_code, alive.content) == (200, b'{"status":"alive"}')
    assert pool.timeouts == [], "a draining task does not ask the database"
