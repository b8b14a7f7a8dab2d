"""What ``/livez`` and ``/healthz`` answer, the same in both services.

- ``/livez`` (liveness, Swarm's health check): the process serves HTTP. No database: an outage must not
  make Swarm restart every task.
- ``/healthz`` (readiness, Nginx's upstream watcher): 200 when the database answers and the task is not
  draining, else 503. The drain rule comes first: while the drain marker file exists (the entrypoint
  writes it on SIGTERM) the task is not ready, whatever the database says, and the database is not asked.

Each service only runs :data:`HEALTH_CHECK_SQL` on a connection of its own kind and says whether it
answered; the bodies, statuses, paths and methods are here.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

LIVENESS_PATH = "/livez"
READINESS_PATH = "/healthz"
# Probes only read; HEAD too, so a curl -I or a load balancer's HEAD check gets the same answer.
HEALTH_METHODS = ("GET", "HEAD")

# The readiness query: a round trip to the database, nothing more.
HEALTH_CHECK_SQL = "SELECT 1"


@dataclass(frozen=True, slots=True)
class HealthAnswer:
    status: int
    body: dict[str, str]


ALIVE = HealthAnswer(200, {"status": "alive"})
READY = HealthAnswer(200, {"status": "ok"})
DRAINING = HealthAnswer(503, {"status": "draining"})
DATABASE_UNAVAILABLE = HealthAnswer(503, {"status": "database unavailable"})


def liveness() -> HealthAnswer:
    return ALIVE


def draining(drain_marker: str) -> bool:
    """The drain rule: the task is leaving while its drain marker file exists."""
    return os.path.exists(drain_marker)


def readiness(*, drain_marker: str, database_answers: Callable[[], bool]) -> HealthAnswer:
    """Readiness for a service with a blocking database client (Django)."""
    if draining(drain_marker):
        return DRAINING
    return READY if database_answers() else DATABASE_UNAVAILABLE


async def readiness_async(*, drain_marker: str, database_answers: Callable[[], Awaitable[bool]]) -> HealthAnswer:
    """Readiness for a service with an asyncio database client (FastAPI): the same rule as :func:`readiness`."""
    if draining(drain_marker):
        return DRAINING
    return READY if await database_answers() else DATABASE_UNAVAILABLE
