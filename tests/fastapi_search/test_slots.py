"""fastapi_search/slots.py: at most DB_CONCURRENCY searches hold a connection; the next waits DB_QUEUE_WAIT_MS
at most, then gets the contract's 503 ``overloaded``; a slot is given back however the search ends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import asyncpg
import pytest

from fastapi_search.slots import SearchSlots
from search_contract import ContractError
from search_contract.errors import overloaded
from service_common.environment import DatabaseLimits

QUEUE_WAIT_MS = 100


class _Pool:
    def __init__(self) -> None:
        self.timeouts: list[float] = []
        self.in_use = 0

    @asynccontextmanager
    async def acquire(self, *, timeout: float) -> AsyncIterator[object]:
        self.timeouts.append(timeout)
        self.in_use += 1
        try:
            yield object()
        finally:
            self.in_use -= 1


def _slots(monkeypatch: pytest.MonkeyPatch, pool: _Pool) -> SearchSlots:
    monkeypatch.setenv("DB_CONCURRENCY", "2")
    monkeypatch.setenv("DB_QUEUE_WAIT_MS", str(QUEUE_WAIT_MS))
    monkeypatch.setenv("DB_CONNECT_TIMEOUT_SECONDS", "3")
    return SearchSlots(cast(asyncpg.Pool, pool), limits=DatabaseLimits())


def test_a_search_past_the_slots_is_shed_after_the_queue_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = _Pool()

    async def scenario() -> tuple[ContractError, float]:
        slots = _slots(monkeypatch, pool)
        async with slots.connection(), slots.connection():
            assert pool.in_use == 2
            started = time.monotonic()
            with pytest.raises(ContractError) as shed:
                async with slots.connection():
                    pass
            return shed.value, time.monotonic() - started

    error, waited = asyncio.run(scenario())
    assert (error.status, error.body(), error.headers) == (503, overloaded().body(), overloaded().headers)
    assert QUEUE_WAIT_MS / 1000 <= waited < QUEUE_WAIT_MS / 1000 + 0.5
    assert pool.timeouts == [3, 3], "the shed search never asked the pool"


def test_a_waiting_search_gets_the_slot_given_back_even_by_a_failed_one(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = _Pool()

    async def failing(slots: SearchSlots) -> None:
        async with slots.connection():
            await asyncio.sleep(QUEUE_WAIT_MS / 4000)
            raise RuntimeError("the search failed")

    async def scenario() -> int:
        slots = _slots(monkeypatch, pool)
        async with slots.connection():
            first = asyncio.create_task(failing(slots))
            await asyncio.sleep(0)
            async with slots.connection():
                in_use = pool.in_use
            with pytest.raises(RuntimeError):
                await first
        return in_use

    assert asyncio.run(scenario()) == 2
    assert pool.in_use == 0
