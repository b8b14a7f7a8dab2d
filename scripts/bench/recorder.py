"""The statements the FastAPI service sends PostgreSQL for each search body, with their arguments.

The service's own ``part_search`` runs on a connection that passes every query on to PostgreSQL and keeps
it. So pgbench replays what the measured code runs on the measured data: the statements, their arguments
(a later statement may take values the first one found) and which of them run at all.

`make bench` runs this file inside a FastAPI task, with the service's own pool set-up (its lifespan:
settings and secrets from the task, codecs, ``plan_cache_mode``)::

    docker exec -i TASK python -c "$(cat scripts/bench/recorder.py)" < bodies

Input: one search body per line (JSON; a ``weight<TAB>kind<TAB>body`` line of the bodies file also works).
Output: one JSON line per body, the list of ``[statement, [arguments...]]`` in the order they ran.
Only the standard library, asyncpg and the service's packages: the task has nothing else.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterable
from typing import Any

from fastapi_search.search import part_search
from search_contract import parse_search_request

Statement = tuple[str, tuple[Any, ...]]


class RecordingConnection:
    """An asyncpg connection's query methods, each passed on to a real connection and kept."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.statements: list[Statement] = []

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self.statements.append((query, args))
        return await self.connection.fetchrow(query, *args, **kwargs)

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self.statements.append((query, args))
        return await self.connection.fetch(query, *args, **kwargs)

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self.statements.append((query, args))
        return await self.connection.fetchval(query, *args, **kwargs)

    async def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self.statements.append((query, args))
        return await self.connection.execute(query, *args, **kwargs)


def body_of(line: str) -> str:
    """The JSON body of an input line: the line itself, or the last field of a bodies-file line."""
    return line.rstrip("\n").rsplit("\t", 1)[-1]


async def searches_record(connection: Any, bodies: Iterable[str]) -> list[list[Statement]]:
    """For each body, the statements ``part_search`` ran on ``connection``."""
    recorded = []
    for body in bodies:
        recording = RecordingConnection(connection)
        await part_search(recording, filters=parse_search_request(body.encode("utf-8")))
        recorded.append(recording.statements)
    return recorded


def recorded_line(statements: list[Statement]) -> str:
    return json.dumps([[query, list(args)] for query, args in statements], ensure_ascii=False)


async def _main() -> None:
    # Imported here: the service's settings are read from the environment at import.
    from fastapi_search.main import app, lifespan  # noqa: PLC0415

    bodies = [body_of(line) for line in sys.stdin if line.strip()]
    async with lifespan(app) as state, state["pool"].acquire() as connection:
        recorded = await searches_record(connection, bodies)
    for statements in recorded:
        print(recorded_line(statements))


if __name__ == "__main__":
    asyncio.run(_main())
