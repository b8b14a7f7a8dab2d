"""The supplier_sync job, through a real worker, against feeds served by a real HTTP server in the test: good
feeds (JSON and CSV) set their prices, a dead, slow, dripping, oversized, failing or garbage feed fails alone
and the others go on, and a sync never runs twice at once."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest

from tests.jobs.conftest import JobsClient
from tests.servers import free_port

Route = Callable[[BaseHTTPRequestHandler], None]


class FeedServer:
    """Supplier feeds on loopback: ``routes`` maps a path to what it answers; ``hits`` counts the requests."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        feeds = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                feeds.hits[self.path] += 1
                route = feeds.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the worker gave up on it
                    route(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def answer(body: bytes, *, status: int = 200, delay: float = 0, content_type: str = "application/json") -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(delay)
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return route


def drip(handler: BaseHTTPRequestHandler) -> None:
    """Headers at once, then a byte every 0.3 s for 6 s: every read is quick, the whole is not."""
    handler.send_response(200)
    handler.send_header("Content-Length", "20")
    handler.end_headers()
    for _ in range(20):
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(0.3)


def oversized(handler: BaseHTTPRequestHandler) -> None:
    """2 MB of a valid JSON array, chunked (no Content-Length to refuse it by)."""
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    piece = b'{"part_id": 1, "price": 1},' * 1000
    for _ in range(80):
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
    handler.wfile.write(b"0\r\n\r\n")


def prices_json(pairs: list[tuple[int, int]]) -> bytes:
    return json.dumps([{"part_id": part_id, "price": price} for part_id, price in pairs]).encode()


@pytest.fixture(scope="module")
def feeds() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.close()


def feed_insert(jobs: JobsClient, name: str, url: str, *, timeout: int = 5, enabled: bool = True) -> int:
    sql = """
        INSERT INTO supplier_feed (name, url, is_enabled, timeout_seconds, created_at, last_status, last_error)
        VALUES (%s, %s, %s, %s, now(), '', '') RETURNING id
    """
    return int(jobs.one(sql, [f"{name} {time.monotonic_ns()}", url, enabled, timeout])["id"])


def prices(jobs: JobsClient, ids: list[int]) -> list[int]:
    rows = jobs.conn.execute("SELECT price FROM part WHERE id = ANY(%s) ORDER BY id", (ids,)).fetchall()
    return [row["price"] for row in rows]


def test_each_feed_is_applied_or_fails_alone(jobs: JobsClient, feeds: FeedServer) -> None:
    parts = [row["id"] for row in jobs.conn.execute("SELECT id FROM part ORDER BY id LIMIT 7").fetchall()]
    jobs.conn.execute("UPDATE part SET price = 5 WHERE id = ANY(%s)", (parts,))
    feeds.routes.update(
        {
            "/a/prices.json": answer(prices_json([(parts[0], 111), (parts[1], 222), (999_999_999, 1), (parts[1], 5)])),
            "/a/prices.csv": answer(b"part_id,price\r\n%d,333\r\n%d,444\r\n" % (parts[2], parts[3])),
            "/a/slow.json": answer(prices_json([(parts[4], 1)]), delay=3),
            "/a/garbage": answer(b"<html>Service Unavailable</html>", content_type="text/html"),
            "/a/bad-entry.json": answer(prices_json([(parts[5], 1), (parts[6], -1)])),
            "/a/error": answer(b"down for maintenance", status=503),
            "/a/drip": drip,
            "/a/big.json": oversized,
        }
    )
    feed_ids = [
        feed_insert(jobs, "json", feeds.url("/a/prices.json")),
        feed_insert(jobs, "csv", feeds.url("/a/prices.csv")),
        feed_insert(jobs, "dead", f"http://127.0.0.1:{free_port()}/prices.json"),
        feed_insert(jobs, "slow", feeds.url("/a/slow.json"), timeout=1),
        feed_insert(jobs, "garbage", feeds.url("/a/garbage")),
        feed_insert(jobs, "bad entry", feeds.url("/a/bad-entry.json")),
        feed_insert(jobs, "error", feeds.url("/a/error")),
        feed_insert(jobs, "drip", feeds.url("/a/drip"), timeout=1),
        feed_insert(jobs, "big", feeds.url("/a/big.json")),
    ]
    job = jobs.wait(jobs.create("supplier_sync", {"feed_ids": [*feed_ids, 987_654_321]}))
    assert job["status"] == "done", job["error"]
    # The slow and the dripping feed were cut at their 1 s deadline; nothing waited for them to finish.
    assert (job["finished_at"] - job["started_at"]).total_seconds() < 8
    entries = job["result"]["feeds"]
    assert [entry["id"] for entry in entries] == [*feed_ids, 987_654_321]
    assert [entry["status"] for entry in entries] == ["done", "done", *["failed"] * 8]
    # A part listed twice takes its last price, which it already had.
    assert {k: entries[0][k] for k in ("prices", "updated", "unknown_part_ids", "error")} == {
        "prices": 3,
        "updated": 1,
        "unknown_part_ids": 1,
        "error": None,
    }
    assert {k: entries[1][k] for k in ("prices", "updated", "unknown_part_ids")} == {
        "prices": 2,
        "updated": 2,
        "unknown_part_ids": 0,
    }
    errors = [entry["error"] for entry in entries[2:]]
    assert errors[0].startswith("cannot fetch: ConnectionRefusedError")
    assert errors[1] == "no complete answer within 1 s"
    assert errors[2] == "neither a JSON array nor CSV with the header part_id,price"
    assert errors[3].startswith("entry 2: part_id must be a whole number >= 1 and price one from 0 to")
    assert errors[4] == "HTTP 503 Service Unavailable"
    assert errors[5] == "no complete answer within 1 s"
    assert errors[6] == "larger than 1000000 bytes"
    assert errors[7] == "no such feed"
    assert prices(jobs, parts) == [111, 5, 333, 444, 5, 5, 5]
    rows = jobs.conn.execute(
        "SELECT last_status, last_error, last_synced_at FROM supplier_feed WHERE id = ANY(%s) ORDER BY id",
        (feed_ids,),
    ).fetchall()
    assert [row["last_status"] for row in rows] == [entry["status"] for entry in entries[:-1]]
    assert [row["last_error"] for row in rows] == ["", "", *errors[:-1]]
    assert all(row["last_synced_at"] is not None for row in rows)


def test_without_feed_ids_every_enabled_feed_and_only_those(jobs: JobsClient, feeds: FeedServer) -> None:
    jobs.conn.execute("UPDATE supplier_feed SET is_enabled = false")
    part = int(jobs.one("SELECT max(id) AS id FROM part")["id"])
    feeds.routes["/b/on.csv"] = answer(b"part_id,price\n%d,777\n" % part)
    feeds.routes["/b/off.csv"] = answer(b"part_id,price\n%d,888\n" % part)
    enabled = feed_insert(jobs, "on", feeds.url("/b/on.csv"))
    feed_insert(jobs, "off", feeds.url("/b/off.csv"), enabled=False)
    job = jobs.wait(jobs.create("supplier_sync", {}))
    assert job["status"] == "done", job["error"]
    assert [(entry["id"], entry["status"]) for entry in job["result"]["feeds"]] == [(enabled, "done")]
    assert prices(jobs, [part]) == [777]
    assert feeds.hits["/b/off.csv"] == 0


def test_a_sync_never_runs_twice_at_once(jobs: JobsClient, feeds: FeedServer) -> None:
    part = int(jobs.one("SELECT min(id) AS id FROM part")["id"])
    feeds.routes["/c/hold.json"] = answer(prices_json([(part, 4242)]), delay=2)
    feed_id = feed_insert(jobs, "hold", feeds.url("/c/hold.json"))
    job_id = jobs.create("supplier_sync", {"feed_ids": [feed_id]})
    jobs.wait(job_id, until=("running",))
    # The database refuses a second active sync (the API's job_create answers it with JobConflict)...
    with pytest.raises(psycopg.errors.UniqueViolation, match="job_one_active_supplier_sync"):
        jobs.insert("supplier_sync", {})
    # ...and a second delivery of the running job's message, taken by the worker's other process, runs nothing.
    jobs.send(job_id)
    job = jobs.wait(job_id)
    assert job["status"] == "done", job["error"]
    assert job["attempts"] == 1
    assert feeds.hits["/c/hold.json"] == 1
    assert prices(jobs, [part]) == [4242]
