"""What the stack does when a dependency dies or stalls: Swarm's health check asks only whether a process
serves HTTP (/livez), so a database outage or a table lock restarts no app task; searches answer a quick JSON
503 meanwhile, and the first search once the database is back succeeds."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from tests.swarm.harness import (
    APPS,
    docker,
    http_call,
    operator_headers,
    postgres_sql,
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


LOCK_SECONDS = 30
# These tests are about the database path: the search cache answers a repeated search without it. Only an
# operator may skip it (nginx/lua/edge_operator.lua): the test asks as one.
NO_CACHE = {"Cache-Control": "no-cache"}
LOCKED_CLIENTS = 10
# Two statements of at most 5 s (the request statement timeout), after at most 2 s in the edge's queue.
LOCKED_ANSWER_BOUND_SECONDS = 13.0


def test_a_table_lock_holding_ten_searches_for_30_s_replaces_no_task(swarm_stack: str) -> None:
    before = {app: set(service_containers(app)) for app in APPS}
    answers: list[tuple[str, int, str, float]] = []
    lock = threading.Lock()
    # What a long migration or a stuck transaction does: nobody may read `part` until it ends.
    containers = service_containers("postgres")
    holder = subprocess.Popen(
        [
            "docker", "exec", containers[0], "sh", "-c",
            'psql -X -q -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c '
            f'"BEGIN; LOCK TABLE part IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep({LOCK_SECONDS}); COMMIT;"',
        ],
    )  # fmt: skip
    try:
        wait_until(
            lambda: postgres_sql("SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND granted") != "0",
            timeout=30,
            what="the table lock",
        )
        ends = time.monotonic() + LOCK_SECONDS - 2
        no_cache = {**NO_CACHE, **operator_headers()}

        def client(number: int) -> None:
            path = ("/search/part/", "/fastapi/search/part/")[number % 2]
            while time.monotonic() < ends:
                started = time.monotonic()
                # Past the response cache, which would answer from Redis without reading `part` at all.
                reply = http_call("POST", path, {"page": 1}, timeout=60, headers=no_cache)
                error = {} if reply.status == 200 else reply.json()
                assert isinstance(error, dict), reply.body[:300]
                code = str(error.get("error", {}).get("code", ""))
                with lock:
                    answers.append((path, reply.status, code, time.monotonic() - started))

        threads = [threading.Thread(target=client, args=(number,)) for number in range(LOCKED_CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        holder.wait(timeout=LOCK_SECONDS + 30)
    for path in ("/search/part/", "/fastapi/search/part/"):
        assert http_call("POST", path, {"page": 1}).status == 200, path
    # While the lock held: the statement timeout's JSON 503, or the edge/app shedding the rest; never a hang.
    assert {(status, code) for _path, status, code, _seconds in answers} <= {
        (503, "query_timeout"),
        (503, "overloaded"),
        (200, ""),
    }, answers[:10]
    assert max(seconds for *_rest, seconds in answers) < LOCKED_ANSWER_BOUND_SECONDS, answers
    assert {app: set(service_containers(app)) for app in APPS} == before, "an app task was replaced"
