"""The parts search behind the Redis response cache (redis-py; shared decisions: service_common/search_cache.py).

The catalog version is read first, then Redis is asked, and only on a miss does the search run. The search
itself (catalog.selectors.part_search) is untouched: this module only wraps it.
"""

from __future__ import annotations

import logging

import orjson
import redis
from django.conf import settings
from django.db import ProgrammingError, connection
from redis.backoff import NoBackoff
from redis.retry import Retry

from catalog.selectors import part_search
from search_contract import PartFilters
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
    drive,
)

logger = logging.getLogger(__name__)


def part_search_body(*, filters: PartFilters) -> bytes:
    """The search's JSON body, exactly as web.http.json_response renders it."""
    return orjson.dumps(part_search(filters=filters))


class SearchCache:
    def __init__(self, policy: SearchCachePolicy) -> None:
        self.policy = policy
        self.breaker = policy.breaker
        # No retries: redis-py would otherwise retry a failed command (10 times, with backoff), and a dead
        # Redis would cost many timeouts per request instead of one per breaker period.
        self.client = (
            redis.Redis(**policy.redis_options(), retry=Retry(NoBackoff(), 0)) if policy.settings.enabled else None
        )

    def part_search(self, *, filters: PartFilters, cache_control: str | None) -> tuple[bytes, CacheStatus]:
        """The body of the answer and where it came from (the order of the calls: cached_search)."""

        def perform(request: Request) -> Reply:
            match request:
                case Call.SEARCH:
                    return part_search_body(filters=filters)
                case Call.VERSION:
                    return self._catalog_version()
                case RedisGet(key):
                    return self._get(key)
                case RedisPut(key, body):
                    self._put(key, body)
                    return None

        return drive(cached_search(self.policy, filters=filters, cache_control=cache_control), perform)

    def _catalog_version(self) -> int | None:
        # A database that cannot be reached raises here as it would in the search (a JSON 503); only a schema
        # without the table (a release whose migration has not run yet) turns the cache off for a while.
        try:
            with connection.cursor() as cursor:
                cursor.execute(CATALOG_VERSION_SQL)
                row = cursor.fetchone()
        except ProgrammingError as error:
            self.breaker.failed(error, doing="reading the catalog version")
            return None
        if row is None:
            self.breaker.failed(LookupError("catalog_version has no row"), doing="reading the catalog version")
            return None
        return int(row[0])

    def _get(self, key: str) -> bytes | None:
        assert self.client is not None
        try:
            value = self.client.get(key)
        except (redis.RedisError, OSError) as error:
            self.breaker.failed(error, doing="Redis GET")
            return None
        self.breaker.succeeded()
        return value if isinstance(value, bytes) else None

    def _put(self, key: str, body: bytes) -> None:
        assert self.client is not None
        try:
            self.client.set(key, body, ex=self.policy.settings.ttl_seconds)
        except (redis.RedisError, OSError) as error:
            self.breaker.failed(error, doing="Redis SET")


# One per process, built from the settings read at start-up; it connects on first use (after gunicorn forks).
search_cache = SearchCache(SearchCachePolicy(settings.SEARCH_CACHE, service="django", logger=logger))
