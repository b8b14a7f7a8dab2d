"""The Redis response cache of ``POST /search/part/``: what both services decide the same way.

Each service keeps only its I/O: its Redis client (redis-py for Django, redis.asyncio for FastAPI), its
database call and a few-line driver. Everything else is here, so the two cannot drift apart: the key, the
status header, the bypass rule, the circuit breaker, the catalog-version statement, and the order of the calls
(``cached_search``, a generator that says which call comes next and decides from what each one returned; the
sans-I/O shape of h11 and wsproto, so one flow serves a sync and an async service).

Why an entry is never stale: every write to ``mark``, ``model`` or ``part`` bumps the one-row
``catalog_version`` table in the same transaction (trigger of migration catalog 0003). A search reads the
version first and only then runs its statements; under READ COMMITTED each statement takes a fresh snapshot,
so the answer is at least as new as the version in its key. Once a write commits, every later search reads the
new version and so a new key: old entries are never looked up again and expire after their TTL.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Generator
from enum import Enum, StrEnum
from typing import TypedDict

from search_contract.filters import PartFilters
from service_common.environment import SearchCacheSettings

# The catalog version (migration catalog 0003). One statement with no parameter, the same in both services.
CATALOG_VERSION_SQL = "SELECT version FROM catalog_version"

# The response header that says where an answer came from. Headers only: the body is the same bytes either way.
CACHE_HEADER = "X-Cache"

KEY_PREFIX = "partscat:search"
# Part of every key. Bump it when the bytes of an answer change for the same request (a new field, another
# order): during a rolling or blue-green update the old and the new release share the cache Redis, and
# neither may serve the other's bodies.
BODY_FORMAT = 1


class CacheStatus(StrEnum):
    """The value of the X-Cache header."""

    HIT = "HIT"  # the body came from Redis
    MISS = "MISS"  # the body came from PostgreSQL (and was stored, unless Redis is failing)
    BYPASS = "BYPASS"  # the client asked for no cache (Cache-Control: no-cache or no-store): no read, no write
    OFF = "OFF"  # the cache is switched off (SEARCH_CACHE=off, or no SEARCH_CACHE_REDIS_HOST)


def search_cache_key(*, filters: PartFilters, catalog_version: int, service: str) -> str:
    """``partscat:search:v<catalog version>:<service>:<sha256 of the canonical filters>``.

    Canonical means structural only: every field of the validated filters (absent ones as null, the page
    defaulted), sorted keys, and the id lists sorted and de-duplicated (they mean "any of"). Texts are kept
    exactly as sent: PostgreSQL's upper() and Python's str.upper() disagree on some letters (``ß`` becomes
    ``SS`` in Python only), so folding case here could give two requests that PostgreSQL answers differently
    one entry.

    The service is part of the key: Django and FastAPI are two implementations under comparison, and an entry
    written by one must not hide what the other answers (a parity bug, or a benchmark of the other's path).
    """
    fields: dict[str, object] = {field.name: getattr(filters, field.name) for field in dataclasses.fields(filters)}
    fields["mark_ids"] = _any_of(filters.mark_ids)
    fields["model_ids"] = _any_of(filters.model_ids)
    canonical = json.dumps({"body_format": BODY_FORMAT, "filters": fields}, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("ascii")).hexdigest()
    return f"{KEY_PREFIX}:v{catalog_version}:{service}:{digest}"


def _any_of(ids: tuple[int, ...] | None) -> list[int] | None:
    # None (no filter) and [] (an empty list: matches nothing) stay apart.
    return None if ids is None else sorted(set(ids))


def cache_bypassed(cache_control: str | None) -> bool:
    """Whether the request's Cache-Control asks for a fresh answer (``no-cache`` or ``no-store``, any case)."""
    if not cache_control:
        return False
    directives = {item.split("=", 1)[0].strip().lower() for item in cache_control.split(",")}
    return not directives.isdisjoint(("no-cache", "no-store"))


class CacheBreaker:
    """A small circuit breaker in front of Redis, with failures logged at most once per ``log_every_seconds``.

    After ``failures_to_open`` failures in a row (refused, timed out, an error reply) Redis is skipped for
    ``open_seconds``: the searches of that period go straight to PostgreSQL and pay nothing for the dead
    cache. The first request after the period tries Redis again, and one more failure opens it for another
    period. A lone slow reply does not open it: on a loaded machine one reply in many may miss the 50 ms
    timeout, and a breaker that opened on it would send every search of the next 5 s to PostgreSQL and store
    none (seen in CI: two searches in a row both MISS). A dead Redis still costs at most ``failures_to_open``
    timeouts per process per period. One breaker per process; in Django's threads the unlocked reads may race,
    which at worst lets a few more requests try Redis once.
    """

    def __init__(
        self,
        *,
        open_seconds: float,
        logger: logging.Logger,
        failures_to_open: int = 3,
        log_every_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.open_seconds = open_seconds
        self.failures_to_open = failures_to_open
        self.log_every_seconds = log_every_seconds
        self._logger = logger
        self._clock = clock
        self._lock = threading.Lock()
        self._open_until = float("-inf")
        self._in_a_row = 0
        self._failing = False  # opened since the last success: one more failure opens it again
        self._next_report = float("-inf")
        self._unreported = 0

    def closed(self) -> bool:
        """True when Redis may be asked now."""
        return self._clock() >= self._open_until

    def failed(self, error: BaseException, *, doing: str) -> None:
        with self._lock:
            now = self._clock()
            self._in_a_row += 1
            self._unreported += 1
            if not self._failing and self._in_a_row < self.failures_to_open:
                return
            self._open_until = now + self.open_seconds
            self._failing = True
            if now < self._next_report:
                return
            count, self._unreported = self._unreported, 0
            self._next_report = now + self.log_every_seconds
        self._logger.warning(
            "search cache: %s failed (%s: %s); searches go to PostgreSQL and Redis is skipped for %g s "
            "(%d failure(s) since the last report)",
            doing,
            type(error).__name__,
            error,
            self.open_seconds,
            count,
        )

    def succeeded(self) -> None:
        self._in_a_row = 0
        if self._failing:
            with self._lock:
                if not self._failing:
                    return
                self._failing = False
            self._logger.warning("search cache: Redis answers again")


class RedisClientOptions(TypedDict):
    """Connection options both Redis clients (redis.Redis and redis.asyncio.Redis) are built with."""

    host: str
    port: int
    password: str | None
    socket_timeout: float
    socket_connect_timeout: float
    # No CLIENT SETINFO round trips on every new connection.
    driver_info: None


class SearchCachePolicy:
    """One service's cache decisions: whether to look at all, under which key, and the breaker's state."""

    def __init__(self, settings: SearchCacheSettings, *, service: str, logger: logging.Logger) -> None:
        self.settings = settings
        self.service = service
        self.breaker = CacheBreaker(
            open_seconds=settings.breaker_seconds, failures_to_open=settings.breaker_failures, logger=logger
        )

    def skip(self, cache_control: str | None) -> CacheStatus | None:
        """The status of a request that does not use Redis at all, or None when it does (version first)."""
        if not self.settings.enabled:
            return CacheStatus.OFF
        if cache_bypassed(cache_control):
            return CacheStatus.BYPASS
        if not self.breaker.closed():
            return CacheStatus.MISS
        return None

    def key(self, *, filters: PartFilters, catalog_version: int) -> str:
        return search_cache_key(filters=filters, catalog_version=catalog_version, service=self.service)

    def redis_options(self) -> RedisClientOptions:
        settings = self.settings
        return RedisClientOptions(
            host=settings.host,
            port=settings.port,
            password=settings.password or None,
            socket_timeout=settings.timeout_s,
            socket_connect_timeout=settings.timeout_s,
            driver_info=None,
        )


# --- The order of the calls, for both services' drivers.


class Call(Enum):
    """A call without arguments the flow asks its driver to make."""

    VERSION = "version"  # read the catalog version (CATALOG_VERSION_SQL); reply: the int, or None when unusable
    SEARCH = "search"  # run the search; reply: its JSON body (bytes)


@dataclasses.dataclass(frozen=True)
class RedisGet:
    """GET the key; reply: the cached body, or None (a miss, or Redis failing: the driver tells the breaker)."""

    key: str


@dataclasses.dataclass(frozen=True)
class RedisPut:
    """SET the key to the body with the TTL; reply: None (a failure only tells the breaker)."""

    key: str
    body: bytes


Request = Call | RedisGet | RedisPut
Reply = bytes | int | None
CachedSearch = Generator[Request, Reply, tuple[bytes, CacheStatus]]


def cached_search(policy: SearchCachePolicy, *, filters: PartFilters, cache_control: str | None) -> CachedSearch:
    """The body of one search's answer and where it came from, asking the driver for each call in turn.

    The version is read before Redis is asked and before the search runs, so the search's statements see this
    version's writes or newer ones (the module's docstring). A body is stored only while the breaker is closed:
    once failures opened it, a dead Redis is not asked again in the same request. A GET that failed alone (a
    slow reply) leaves it closed, and the body is still stored for the next search.
    """
    skipped = policy.skip(cache_control)
    if skipped is not None:
        return _body((yield Call.SEARCH)), skipped
    version = yield Call.VERSION
    if version is None:
        return _body((yield Call.SEARCH)), CacheStatus.MISS
    key = policy.key(filters=filters, catalog_version=_version(version))
    cached = yield RedisGet(key)
    if cached is not None:
        return _body(cached), CacheStatus.HIT
    body = _body((yield Call.SEARCH))
    if policy.breaker.closed():
        yield RedisPut(key, body)
    return body, CacheStatus.MISS


def _body(reply: Reply) -> bytes:
    if not isinstance(reply, bytes):
        raise TypeError(f"a search cache driver answered a body with {type(reply).__name__}")
    return reply


def _version(reply: Reply) -> int:
    if not isinstance(reply, int):
        raise TypeError(f"a search cache driver answered the catalog version with {type(reply).__name__}")
    return reply


def drive(flow: CachedSearch, perform: Callable[[Request], Reply]) -> tuple[bytes, CacheStatus]:
    """Run the flow with a blocking driver (Django's)."""
    reply: Reply = None
    while True:
        try:
            request = flow.send(reply)
        except StopIteration as done:
            result: tuple[bytes, CacheStatus] = done.value
            return result
        reply = perform(request)


async def drive_async(flow: CachedSearch, perform: Callable[[Request], Awaitable[Reply]]) -> tuple[bytes, CacheStatus]:
    """Run the flow with an async driver (FastAPI's)."""
    reply: Reply = None
    while True:
        try:
            request = flow.send(reply)
        except StopIteration as done:
            result: tuple[bytes, CacheStatus] = done.value
            return result
        reply = await perform(request)
