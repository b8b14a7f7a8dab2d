"""The search's concurrency slots: bounded concurrency, bounded wait, then a fast 503."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from search_contract.errors import overloaded
from service_common.environment import DatabaseLimits


class SearchSlots:
    """One per worker process, created in the lifespan (main.py) with the pool it hands connections from.

    At most DB_CONCURRENCY searches of this process run at once; the next waits at most DB_QUEUE_WAIT_MS
    for a slot. The pool has one connection more than there are slots (db.py), so /healthz always finds one.
    """

    def __init__(self, pool: asyncpg.Pool, *, limits: DatabaseLimits) -> None:
        self.pool = pool
        self.semaphore = asyncio.Semaphore(limits.concurrency)
        self.queue_wait_s = limits.queue_wait_s
        self.connect_timeout_s = limits.connect_timeout_s

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection for one search, or the contract's 503 once the wait for a slot is over."""
        try:
            async with asyncio.timeout(self.queue_wait_s):
                await self.semaphore.acquire()
        except TimeoutError:
            raise overloaded() from None
        try:
            async with self.pool.acquire(timeout=self.connect_timeout_s) as connection:
                yield connection
        finally:
            self.semaphore.release()
