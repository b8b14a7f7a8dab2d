"""The ``supplier_sync`` job: pull each supplier's price feed over HTTP and set the listed parts' prices.

The feed format (what a supplier serves at the feed's URL, answering GET with 200):

- JSON: an array of objects ``[{"part_id": 123, "price": 4500}, ...]``, or
- CSV: a header row ``part_id,price`` then one ``<part id>,<price>`` a line;

told apart by the body (JSON starts with ``[``), whatever the Content-Type. UTF-8; part ids are whole numbers
>= 1, prices whole numbers from 0 to 2**31 - 1. A part id listed twice takes its last price. Ids of parts the
catalog does not have are counted (``unknown_part_ids``), not fatal. A feed with any malformed entry changes
nothing.

Which feeds: those in ``params["feed_ids"]`` (enabled or not: someone asked for them), else every enabled one.
Each is fetched with its own ``timeout_seconds`` as a total deadline (connect, then each read waits at most
what is left; a name lookup is not bounded by it), at most SUPPLIER_FEED_MAX_BYTES, no redirects. A feed that
is down, slow, too big or sends garbage fails alone: the feed row (last_status, last_error, last_synced_at)
and its entry in the job result say why, and the next feed goes on. The job itself is done once every feed
was tried.

Each feed's prices are set in one transaction (``UPDATE ... FROM unnest(...)`` in batches; only the prices
that change are written), which also writes the feed row and the run's checkpoint (the feeds done so far and
their results): a re-run after a lost worker skips the feeds already done.

Never two at once: the database allows one queued or running supplier_sync job (job_one_active_supplier_sync),
and the run also holds a PostgreSQL advisory lock, against a stalled run of the same job that the reaper handed
to a new worker and that has not noticed yet.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models.functions import Now

from jobs.models import SupplierFeed
from jobs.runner import JobError, JobRun

logger = logging.getLogger(__name__)

PRICE_MAX = 2**31 - 1
PART_ID_MAX = 2**63 - 1
BATCH = 10_000
# pg_advisory_lock key of the supplier sync ("jobssync" in ASCII).
LOCK_KEY = 0x6A6F6273_73796E63
LOCK_POLL_SECONDS = 1.0
READ_BYTES = 64 * 1024

UPDATE_SQL = """
UPDATE part SET price = feed.price
FROM unnest(%s::bigint[], %s::integer[]) AS feed(id, price)
WHERE part.id = feed.id AND part.price <> feed.price
"""
UNKNOWN_SQL = """
SELECT count(*) FROM unnest(%s::bigint[]) AS feed(id)
WHERE NOT EXISTS (SELECT FROM part WHERE part.id = feed.id)
"""


class FeedError(Exception):
    """This feed could not be fetched or read; the message says why (and is stored on the feed)."""


def feed_fetch(*, url: str, timeout: float, max_bytes: int) -> bytes:
    """The body of ``GET url``, within ``timeout`` seconds in all and ``max_bytes`` bytes."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FeedError("the URL must be http:// or https:// with a host")
    deadline = time.monotonic() + timeout
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    try:
        conn = connection_class(parts.hostname, parts.port, timeout=timeout)
    except ValueError as exc:  # a port that is not a number
        raise FeedError(f"bad URL: {exc}") from None

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FeedError(f"no complete answer within {timeout:g} s")
        return remaining

    try:
        path = parts.path or "/"
        conn.request("GET", f"{path}?{parts.query}" if parts.query else path, headers={"Accept": "*/*"})
        # The response reads through this socket even once the connection has handed it over (conn.sock is
        # then None): each read below may wait only what is left of the deadline.
        sock = conn.sock
        assert sock is not None
        sock.settimeout(left())
        response = conn.getresponse()
        if response.status != 200:
            raise FeedError(f"HTTP {response.status} {response.reason}")
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > max_bytes:
            raise FeedError(f"larger than {max_bytes} bytes ({length})")
        body = bytearray()
        while True:
            sock.settimeout(left())
            piece = response.read1(READ_BYTES)
            if not piece:
                break
            body += piece
            if len(body) > max_bytes:
                raise FeedError(f"larger than {max_bytes} bytes")
        return bytes(body)
    except TimeoutError:
        raise FeedError(f"no complete answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as exc:
        raise FeedError(f"cannot fetch: {type(exc).__name__}: {exc}") from None
    finally:
        conn.close()


def _whole(value: Any, *, low: int, high: int) -> int | None:
    if isinstance(value, str):
        value = value.strip()
        value = int(value) if value.isascii() and value.isdigit() else None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def feed_prices(*, body: bytes) -> dict[int, int]:
    """{part id: price} of a feed's body (format: this module's docstring); FeedError if anything is wrong."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedError(f"not UTF-8 text (byte {exc.start})") from None
    entries: list[tuple[Any, Any]] = []
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FeedError(f"invalid JSON: {exc}") from None
        for number, item in enumerate(items, start=1):
            if not isinstance(item, dict) or set(item) != {"part_id", "price"}:
                raise FeedError(f"item {number}: must be an object with exactly part_id and price")
            entries.append((item["part_id"], item["price"]))
    else:
        try:
            records = [record for record in csv.reader(io.StringIO(text, newline=""), strict=True) if record]
        except csv.Error as exc:
            raise FeedError(f"broken CSV: {exc}") from None
        if not records or [field.strip().lower() for field in records[0]] != ["part_id", "price"]:
            raise FeedError("neither a JSON array nor CSV with the header part_id,price")
        for number, record in enumerate(records[1:], start=2):
            if len(record) != 2:
                raise FeedError(f"CSV record {number}: must be part_id,price")
            entries.append((record[0], record[1]))
    prices: dict[int, int] = {}
    for number, (raw_id, raw_price) in enumerate(entries, start=1):
        part_id = _whole(raw_id, low=1, high=PART_ID_MAX)
        price = _whole(raw_price, low=0, high=PRICE_MAX)
        if part_id is None or price is None:
            raise FeedError(f"entry {number}: part_id must be a whole number >= 1 and price one from 0 to {PRICE_MAX}")
        prices[part_id] = price
    return prices


def _prices_apply(prices: dict[int, int]) -> tuple[int, int]:
    """(parts whose price changed, ids the catalog does not have); inside the caller's transaction."""
    updated = unknown = 0
    items = list(prices.items())
    with connection.cursor() as cursor:
        for start in range(0, len(items), BATCH):
            ids = [part_id for part_id, _ in items[start : start + BATCH]]
            values = [price for _, price in items[start : start + BATCH]]
            cursor.execute(UPDATE_SQL, [ids, values])
            updated += cursor.rowcount
            cursor.execute(UNKNOWN_SQL, [ids])
            row = cursor.fetchone()
            unknown += int(row[0]) if row else 0
    return updated, unknown


def _feed_sync(run: JobRun, *, feed: SupplierFeed, done: list[dict[str, Any]]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": feed.pk,
        "name": feed.name,
        "status": "done",
        "prices": 0,
        "updated": 0,
        "unknown_part_ids": 0,
        "error": None,
    }
    try:
        body = feed_fetch(url=feed.url, timeout=feed.timeout_seconds, max_bytes=settings.SUPPLIER_FEED_MAX_BYTES)
        prices = feed_prices(body=body)
    except FeedError as exc:
        entry.update(status="failed", error=str(exc))
        logger.info("supplier feed %s (%s) failed: %s", feed.pk, feed.name, exc)
        prices = {}
    with transaction.atomic():
        if entry["status"] == "done":
            entry["prices"] = len(prices)
            entry["updated"], entry["unknown_part_ids"] = _prices_apply(prices)
        SupplierFeed.objects.filter(pk=feed.pk).update(
            last_status=entry["status"], last_error=entry["error"] or "", last_synced_at=Now()
        )
        run.checkpoint(value={"feeds": [*done, entry]})
    return entry


def _lock_take(run: JobRun) -> None:
    """The session advisory lock of the sync; waits (heartbeat going on) up to twice the lease for it."""
    deadline = time.monotonic() + 2 * settings.JOBS_LEASE_SECONDS
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
            row = cursor.fetchone()
            if row and row[0]:
                return
            if time.monotonic() > deadline:
                raise JobError("another supplier sync still holds the sync lock")
            run.ensure_lease()
            time.sleep(LOCK_POLL_SECONDS)


def supplier_sync_run(run: JobRun) -> dict[str, Any]:
    feed_ids: list[int] | None = run.job.params.get("feed_ids")
    feeds = SupplierFeed.objects.all() if feed_ids else SupplierFeed.objects.filter(is_enabled=True)
    if feed_ids:
        feeds = feeds.filter(pk__in=feed_ids)
    found = list(feeds.order_by("id"))
    missing = sorted(set(feed_ids or []) - {feed.pk for feed in found})
    done: list[dict[str, Any]] = list((run.job.checkpoint or {}).get("feeds", []))
    finished = {entry["id"] for entry in done}
    _lock_take(run)
    try:
        for number, feed in enumerate(found):
            if feed.pk in finished:
                continue
            run.ensure_lease()
            done.append(_feed_sync(run, feed=feed, done=done))
            run.progress_set(percent=(number + 1) * 100 // len(found))
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
        except DatabaseError:
            # The connection is gone, and its session's lock with it.
            logger.warning("supplier sync: could not release the sync lock", exc_info=True)
    for feed_id in missing:
        done.append({"id": feed_id, "name": None, "status": "failed", "error": "no such feed"})
    return {"feeds": done}
