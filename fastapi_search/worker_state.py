"""What the lifespan (main.py) creates in each worker process and hands to every request, typed.

Starlette copies the mapping the lifespan yields into each request's scope; :func:`worker_state` reads it back
with its type, so a handler names ``worker_state(request)["pool"]`` and mypy knows it is a pool.
"""

from __future__ import annotations

from typing import TypedDict, cast

import asyncpg
from fastapi import Request

from fastapi_search.search_cache import SearchCache
from fastapi_search.slots import SearchSlots


class WorkerState(TypedDict):
    # One pool per worker process, created with the event loop that will use it (db.py).
    pool: asyncpg.Pool
    search_slots: SearchSlots
    search_cache: SearchCache


def worker_state(request: Request) -> WorkerState:
    return cast(WorkerState, request.scope["state"])
