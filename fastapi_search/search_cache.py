"""The parts search behind the Redis response cache (redis.asyncio; shared decisions: service_common/search_cache.py).

The catalog version is read first, on the search's own connection, then Redis is asked, and only on a miss
does the search run. The search itself (fastapi_search.search.part_search) is untouched: this only wraps it.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import orjson
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from fastapi_search.search import part_search
from search_contract import PartFilters
from service_common.environment import SearchCacheSettings
from service_common.search_cache import (
    CATALOG_VERSION_SQL,
    CacheStatus,
    Call,
    RedisGet,
    RedisPut,
    Reply,
    Request,
    SearchCachePolicy,
    cached_search,
    drive_async,
)

logger = logging.getLogger(__name__)


async def part_search_body(connection: asyncpg.Connection, *, filters: PartFilters) -> bytes:
    """The search's JSON body, exactly as responses.JSONBytesResponse renders it."""
    return orjson.dumps(await part_search(connection, filters=filters))


class SearchCache:
    """One per worker process, created in the lifespan (its connections belong to that event loop)."""

    def __init__(self, settings: SearchCacheSettings) -> None:
        self.policy = SearchCachePolicy(settings, service="fastapi", logger=logger)
        self.breaker = self.policy.breaker
        # Connecting and each reply are bounded by the socket timeouts; this bounds a whole command too (a
        # connect, AUTH and the command's reply), whatever the client library does inside.
        self.command_timeout_s = 3 * settings.timeout_s
        # No retries: redis-py would otherwise retry a failed command (10 times, with backoff), and a dead
        # Redis would cost many timeouts per request instead of one per breaker period.
        self.client = (
            redis.asyncio.Redis(**self.policy.redis_options(), retry=Retry(NoBackoff(), 0))
            if settings.enabled
            else None
        )

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    async def part_search(
        self, connection: asyncpg.Connection, *, filters: PartFilters, cache_control: str | None
    ) -> tuple[bytes, CacheStatus]:
        """The body of the answer and where it came from (the order of the calls: cached_search)."""

        async def perform(request: Request) -> Reply:
            match request:
                case Call.SEARCH:
                    return await part_search_body(connection, filters=filters)
                case Call.VERSION:
                    return await self._catalog_version(connection)
                case RedisGet(key):
                    return await self._get(key)
                case RedisPut(key, body):
                    await self._put(key, body)
                    return None

        return await drive_async(cached_search(self.policy, filters=filters, cache_control=cache_control), perform)

    async def _catalog_version(self, connection: asyncpg.Connection) -> int | None:
        # A database that cannot be reached raises here as it would in the search (a JSON 503); only a schema
        # without the table (a release whose migration has not run yet: FastAPI does not migrate, Django
        # does) turns the cache off for a while.
        try:
            version = await connection.fetchval(CATALOG_VERSION_SQL)
        except asyncpg.UndefinedTableError as error:
            self.breaker.failed(error, doing="reading the catalog version")
            return None
        if version is None:
            self.breaker.failed(LookupError("catalog_version has no row"), doing="reading the catalog version")
            return None
        return int(version)

    async def _get(self, key: str) -> bytes | None:
        assert self.client is not None
        try:
            async with asyncio.timeout(self.command_timeout_s):
                value = await self.client.get(key)
        except (RedisError, OSError, TimeoutError) as error:
            self.breaker.failed(error, doing="Redis GET")
            return None
        self.breaker.succeeded()
        return value if isinstance(value, bytes) else None

    async def _put(self, key: str, body: bytes) -> None:
        assert self.client is not None
        try:
            async with asyncio.timeout(self.command_timeout_s):
                await self.client.set(key, body, ex=self.policy.settings.ttl_seconds)
        except (RedisError, OSError, TimeoutError) as error:
            self.breaker.failed(error, doing="Redis SET")
