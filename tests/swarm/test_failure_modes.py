"""What the stack does when a dependency dies: Swarm's health check asks only whether a process serves HTTP
(/livez), so a database outage restarts no app task; searches answer a quick JSON 503 meanwhile, and the first
search once the database is back succeeds."""

from __future__ import annotations

import time

import pytest

from tests.swarm.harness import (
    APPS,
    docker,
    http_call,
    service_containers,
    swarm_service,
    upstream_addresses,
    wait_until,
)

pytestmark = pytest.mark.swarm

OUTAGE_SECONDS = 30
QUICK_SECONDS = 5.0


def _postgres_healthy() -> bool:
    containers = service_containers("postgres")
    return bool(containers) and all(
        docker("inspect", "--format", "{{.State.Health.Status}}", container).strip() == "healthy"
        for container in containers
    )


def test_a_database_outage_replaces_no_app_task_and_searches_answer_503(swarm_stack: str) -> None:
    before = {app: set(service_containers(app)) for app in APPS}
    assert all(before.values())
    answers: list[tuple[int, str, float]] = []
    docker("service", "scale", "--detach", f"{swarm_service('postgres')}=0")
    try:
        wait_until(lambda: not service_containers("postgres"), timeout=60, what="postgres stopped")
        outage_ends = time.monotonic() + OUTAGE_SECONDS
        while time.monotonic() < outage_ends:
            for path in ("/search/part/", "/fastapi/search/part/"):
                started = time.monotonic()
                reply = http_call("POST", path, {"page": 1}, timeout=30)
                error = reply.json()
                assert isinstance(error, dict)
                answers.append((reply.status, str(error.get("error", {}).get("code")), time.monotonic() - started))
            time.sleep(0.5)
    finally:
        docker("service", "scale", "--detach", f"{swarm_service('postgres')}=1")
    wait_until(_postgres_healthy, timeout=120, what="postgres back and healthy")
    wait_until(lambda: all(upstream_addresses(app) for app in APPS), timeout=60, what="both apps ready again")

    # The first search after the outage, on each service.
    for path in ("/search/part/", "/fastapi/search/part/"):
        reply = http_call("POST", path, {"page": 1})
        assert reply.status == 200, reply.body[:300]
    assert {status for status, _code, _seconds in answers} == {503}, answers[:5]
    # From the app (database_unavailable) until the watcher notices, then Nginx's no-ready-task placeholder.
    assert {code for _status, code, _seconds in answers} <= {"database_unavailable", "service_unavailable"}
    assert max(seconds for _status, _code, seconds in answers) < QUICK_SECONDS
    after = {app: set(service_containers(app)) for app in APPS}
    assert after == before, "an app task was replaced during the database outage"
