"""The probes, ``/livez`` for Swarm and ``/healthz`` for Nginx's watcher, answering from service_common/health.py."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI, Request

from fastapi_search.db import DATABASE_CONNECTION_ERRORS
from fastapi_search.responses import JSONBytesResponse
from fastapi_search.worker_state import worker_state
from search_contract.openapi import LIVENESS_RESPONSES, READINESS_RESPONSES
from service_common.health import (
    HEALTH_CHECK_SQL,
    HEALTH_METHODS,
    LIVENESS_PATH,
    READINESS_PATH,
    HealthAnswer,
    liveness,
    readiness_async,
)

# Readiness waits at most this long for a pooled connection and for its query. The pool keeps one connection
# beyond the search slots, so a busy task stays ready; a database that does not answer in time is "not ready".
HEALTH_WAIT_SECONDS = 1.0


def _health_response(answer: HealthAnswer) -> JSONBytesResponse:
    return JSONBytesResponse(answer.body, status_code=answer.status)


async def livez() -> JSONBytesResponse:
    """Liveness, for Swarm's health check (service_common/health.py)."""
    return _health_response(liveness())


def probes_add(app: FastAPI, *, drain_marker: str) -> None:
    """Add both probes to ``app``; readiness answers "draining" while the file ``drain_marker`` exists."""

    async def healthz(request: Request) -> JSONBytesResponse:
        """Readiness, for Nginx's watcher (service_common/health.py): the drain rule, then the database."""

        async def database_answers() -> bool:
            try:
                async with worker_state(request)["pool"].acquire(timeout=HEALTH_WAIT_SECONDS) as connection:
                    await connection.fetchval(HEALTH_CHECK_SQL, timeout=HEALTH_WAIT_SECONDS)
            except (TimeoutError, asyncpg.PostgresError, *DATABASE_CONNECTION_ERRORS):
                return False
            return True

        answer = await readiness_async(drain_marker=drain_marker, database_answers=database_answers)
        return _health_response(answer)

    # One route per method, so each has an operation id of its own in the OpenAPI document.
    for method in HEALTH_METHODS:
        app.add_api_route(
            LIVENESS_PATH, livez, methods=[method], responses=LIVENESS_RESPONSES, operation_id=f"livez_{method.lower()}"
        )
        app.add_api_route(
            READINESS_PATH,
            healthz,
            methods=[method],
            responses=READINESS_RESPONSES,
            operation_id=f"healthz_{method.lower()}",
        )
