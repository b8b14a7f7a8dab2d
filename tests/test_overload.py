"""Overload and slow databases are shed, not spread: both services under their production gunicorn configs.

Each app runs one process with one database slot, against a catalog whose `part` table another session
locks, as a long migration or a stuck transaction would. The search holding the slot is cancelled by the
request statement timeout (a JSON 503 `query_timeout`); the searches behind it wait their bounded time and
get a JSON 503 `overloaded` with Retry-After; liveness and readiness keep answering at once, so Swarm would
replace nothing. Bodies over the contract's limit sent straight to an app get the contract's 400.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from search_contract import MAX_BODY_BYTES
from tests.servers import Postgres, Server, start_app

STATEMENT_TIMEOUT_S = 2.0
QUEUE_WAIT_S = 0.3
LIMITS = {
    "WEB_CONCURRENCY": "1",
    "DB_CONCURRENCY": "1",
    "DB_QUEUE_WAIT_MS": str(int(QUEUE_WAIT_S * 1000)),
    "DB_STATEMENT_TIMEOUT_MS": str(int(STATEMENT_TIMEOUT_S * 1000)),
}


@pytest.fixture(scope="module")
def small_url(postgres: Postgres) -> str:
    return postgres.catalog_create("overload", parts=50, seed=5)


@pytest.fixture(scope="module", params=["django", "fastapi"])
def app(request: pytest.FixtureRequest, small_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    name = str(request.param)
    server = start_app(name, small_url, tmp_path_factory.mktemp(f"overload-{name}"), extra_env=LIMITS)
    try:
        yield server
    finally:
        server.stop()


def _search(server: Server, results: list[tuple[int, str, str, float]]) -> None:
    started = time.monotonic()
    response = httpx.post(f"{server.base_url}/search/part/", json={"page": 1}, timeout=30)
    code = response.json()["error"]["code"] if response.status_code != 200 else ""
    results.append((response.status_code, code, response.headers.get("retry-after", ""), time.monotonic() - started))


def _timed_get(server: Server, path: str) -> tuple[int, float]:
    started = time.monotonic()
    response = httpx.get(f"{server.base_url}{path}", timeout=10)
    return response.status_code, time.monotonic() - started


def test_a_locked_table_sheds_searches_fast_and_leaves_the_probes_answering(app: Server, small_url: str) -> None:
    results: list[tuple[int, str, str, float]] = []
    with psycopg.connect(small_url) as lock_holder:
        lock_holder.execute("LOCK TABLE part IN ACCESS EXCLUSIVE MODE")
        first = threading.Thread(target=_search, args=(app, results))
        first.start()
        time.sleep(0.3)  # the first search now holds the slot, blocked on the lock
        behind = [threading.Thread(target=_search, args=(app, results)) for _ in range(4)]
        for thread in behind:
            thread.start()
        # While every slot is stuck: liveness (Swarm's check) and readiness (Nginx's) answer at once.
        probes = [_timed_get(app, "/livez") for _ in range(3)] + [_timed_get(app, "/healthz")]
        for thread in [first, *behind]:
            thread.join()
        lock_holder.rollback()
    assert [status for status, _ in probes] == [200, 200, 200, 200], probes
    assert max(seconds for _, seconds in probes) < 0.5, probes

    shed = [r for r in results if r[1] == "overloaded"]
    timed_out = [r for r in results if r[1] == "query_timeout"]
    assert len(shed) == 4 and len(timed_out) == 1, results
    for status, _, retry_after, seconds in shed:
        assert (status, retry_after) == (503, "1")
        assert seconds < QUEUE_WAIT_S + 0.5, results
    status, _, retry_after, seconds = timed_out[0]
    assert (status, retry_after) == (503, "5")
    assert STATEMENT_TIMEOUT_S - 0.5 < seconds < STATEMENT_TIMEOUT_S + 1.5, results
    # The lock is gone: the very next search is served.
    after: list[tuple[int, str, str, float]] = []
    _search(app, after)
    assert after[0][0] == 200, after


def _raw_post(server: Server, body: bytes) -> bytes:
    """POST with a plain socket that sends the whole body, then reads what comes back until the server closes."""
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = (
            f"POST /search/part/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode() + body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_a_body_over_the_limit_sent_straight_to_the_app_gets_the_contracts_400(app: Server) -> None:
    body = b'{"part_name": "' + b"x" * (4 * MAX_BODY_BYTES) + b'"}'
    answer = _raw_post(app, body)
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b'"code":"validation_error"' in payload.replace(b" ", b""), payload
    assert b"body" in payload


def test_database_connections_carry_tcp_keepalives(app: Server, postgres: Postgres) -> None:
    """A node lost without a reset is noticed on an idle pooled connection too, not only by a query's timeout."""
    assert httpx.post(f"{app.base_url}/search/part/", json={}, timeout=10).status_code == 200
    workers = {str(pid) for pid in _children(app.process.pid)}
    out = subprocess.run(
        ["ss", "-tnpo", "state", "established", "dport", "=", f":{postgres.port}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    mine = [line for line in out.splitlines() if any(f"pid={pid}," in line for pid in workers)]
    assert mine, out
    assert all("timer:(keepalive," in line for line in mine), mine


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=True)
    return [int(child) for child in out.stdout.split()]
