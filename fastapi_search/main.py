"""The ASGI application: ``fastapi_search.main:app``, run from the repository root.

Only the assembly: the settings are read once, here, and each module gets what it needs of them handed in.
The lifespan creates each worker's resources (db.py, slots.py, search_cache.py) and hands them to the
requests typed (worker_state.py); the routes come from search_routes.py, probes.py and docs.py, and every
error is rendered by error_handlers.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from fastapi_search.db import pool_create, schema_wait
from fastapi_search.docs import docs_routes_add
from fastapi_search.error_handlers import error_handlers_add
from fastapi_search.probes import probes_add
from fastapi_search.release import ReleasedFastAPI
from fastapi_search.responses import JSONBytesResponse
from fastapi_search.search_cache import SearchCache
from fastapi_search.search_routes import API_VERSION, DESCRIPTION, search_routes_add
from fastapi_search.settings import Settings, settings_from_env
from fastapi_search.slots import SearchSlots
from fastapi_search.worker_state import WorkerState

settings: Settings = settings_from_env()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[WorkerState]:
    # One pool per worker process, created with the event loop that will use it.
    pool = await pool_create(
        database_url=settings.database_url,
        limits=settings.limits,
        connect_wait_seconds=settings.connect_wait_seconds,
    )
    await schema_wait(pool, wait_seconds=settings.connect_wait_seconds)
    search_cache = SearchCache(settings.search_cache)
    try:
        yield {"pool": pool, "search_slots": SearchSlots(pool, limits=settings.limits), "search_cache": search_cache}
    finally:
        await search_cache.aclose()
        await pool.close()


# X-Release on every answer (release.py).
app = ReleasedFastAPI(
    release=settings.release,
    title="Parts search (FastAPI)",
    version=API_VERSION,
    description=DESCRIPTION,
    lifespan=lifespan,
    root_path=settings.root_path,
    default_response_class=JSONBytesResponse,
    # FastAPI's own docs pages load from a CDN; docs.py serves /docs and /redoc with local assets.
    docs_url=None,
    redoc_url=None,
)
docs_routes_add(app)
search_routes_add(app, faults=settings.search_faults)
probes_add(app, drain_marker=settings.drain_marker)
error_handlers_add(app)
