"""service_common/health.py: the drain rule comes first, and the database is then the only question."""

from __future__ import annotations

import asyncio
from pathlib import Path

from service_common.health import (
    ALIVE,
    DATABASE_UNAVAILABLE,
    DRAINING,
    READY,
    liveness,
    readiness,
    readiness_async,
)


def _never_asked() -> bool:
    raise AssertionError("a draining task must not ask the database")


async def _never_asked_async() -> bool:
    raise AssertionError("a draining task must not ask the database")


def test_liveness_is_alive_without_any_question() -> None:
    assert liveness() == ALIVE
    assert (ALIVE.status, ALIVE.body) == (200, {"status": "alive"})


def test_readiness_follows_the_database(tmp_path: Path) -> None:
    marker = str(tmp_path / "draining")
    assert readiness(drain_marker=marker, database_answers=lambda: True) == READY
    assert readiness(drain_marker=marker, database_answers=lambda: False) == DATABASE_UNAVAILABLE
    assert (READY.status, DATABASE_UNAVAILABLE.status) == (200, 503)


def test_a_draining_task_is_not_ready_and_asks_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "draining"
    marker.touch()
    assert readiness(drain_marker=str(marker), database_answers=_never_asked) == DRAINING
    assert asyncio.run(readiness_async(drain_marker=str(marker), database_answers=_never_asked_async)) == DRAINING
    assert (DRAINING.status, DRAINING.body) == (503, {"status": "draining"})


def test_the_async_rule_is_the_same_rule(tmp_path: Path) -> None:
    marker = str(tmp_path / "draining")

    async def answers() -> bool:
        return True

    async def silent() -> bool:
        return False

    assert asyncio.run(readiness_async(drain_marker=marker, database_answers=answers)) == READY
    assert asyncio.run(readiness_async(drain_marker=marker, database_answers=silent)) == DATABASE_UNAVAILABLE
