"""Liveness and readiness apart, against a PostgreSQL that really goes away and comes back.

Both services run against their own throwaway cluster, which the test stops: the liveness endpoint (what
Swarm asks) stays 200, readiness (what Nginx's watcher asks) turns 503 quickly, a search answers a quick JSON
503 with Retry-After instead of hanging or a 500, and the first search after the database is back succeeds.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import Postgres, Server, start_app, start_postgres

QUICK_SECONDS = 5.0


@pytest.fixture(scope="module")
def outage_postgres() -> Iterator[Postgres]:
    base = Path(tempfile.mkdtemp(prefix="parts-outage-pg-"))
    server = start_postgres(base)
    try:
        server.catalog_create("catalog", parts=50, seed=3)
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def apps(outage_postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    log_dir = tmp_path_factory.mktemp("outage-logs")
    servers = {name: start_app(name, outage_postgres.app_url("catalog"), log_dir) for name in ("django", "fastapi")}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def _search(server: Server) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.post(f"{server.base_url}/search/part/", json={"page": 1}, timeout=30)
    return response, time.monotonic() - started


def test_a_database_outage_fails_readiness_not_liveness_and_searches_get_a_quick_503(
    outage_postgres: Postgres, apps: dict[str, Server]
) -> None:
    for server in apps.values():
        assert _search(server)[0].status_code == 200
    outage_postgres.stop()
    try:
        for name, server in apps.items():
            assert httpx.get(f"{server.base_url}/livez", timeout=5).json() == {"status": "alive"}, name
            started = time.monotonic()
            ready = httpx.get(f"{server.base_url}/healthz", timeout=10)
            assert (ready.status_code, ready.json()["status"]) == (503, "database unavailable"), name
            assert time.monotonic() - started < QUICK_SECONDS, name
            for _ in range(3):
                response, seconds = _search(server)
                assert response.status_code == 503, (name, response.text)
                assert response.json()["error"]["code"] == "database_unavailable", name
                assert response.headers["retry-after"] == "5", name
                assert seconds < QUICK_SECONDS, (name, seconds)
    finally:
        outage_postgres.start()
    for name, server in apps.items():
        # The first search once the database is back succeeds: no stale pooled connection is handed out.
        response, _seconds = _search(server)
        assert response.status_code == 200, (name, response.text)
        assert httpx.get(f"{server.base_url}/healthz", timeout=5).status_code == 200, name
