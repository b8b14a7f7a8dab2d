"""The ASGI application: ``fastapi_search.main:app``, run from the repository root."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from fastapi_search.docs import docs_routes_add
from fastapi_search.queries import SCHEMA_READY
from fastapi_search.release import ReleasedFastAPI
from fastapi_search.responses import JSONBodyResponse, JSONBytesResponse
from fastapi_search.search_cache import SearchCache
from fastapi_search.settings import Settings, settings_from_env
from search_contract import MAX_BODY_BYTES, ContractError, body_too_large, parse_search_request
from search_contract.errors import (
    database_unavailable,
    error_body,
    injected_fault,
    internal_error,
    method_not_allowed,
    not_found,
    overloaded,
    query_timeout,
)
from search_contract.faults import ErrorShare
from search_contract.health import (
    HEALTH_CHECK_SQL,
    HEALTH_METHODS,
    LIVENESS_PATH,
    READINESS_PATH,
    HealthAnswer,
    liveness,
    readiness_async,
)
from search_contract.openapi import LIVENESS_RESPONSES, READINESS_RESPONSES, SEARCH_REQUEST_SCHEMA, SEARCH_RESPONSES
from search_contract.search_cache import CACHE_HEADER

settings: Settings = settings_from_env()
# Prepared statements kept per pooled connection, least recently used first out.
STATEMENT_CACHE_SIZE = 512
logger = logging.getLogger(__name__)


def _enable_keepalives(connection: asyncpg.Connection) -> None:
    """TCP keep-alives and a bound on unacknowledged writes: a node lost without a reset is noticed.

    asyncpg has no option for them, so they are set on the connection's socket. The transport is not public
    API; tests/test_overload.py checks with ss that the options really are on, so an asyncpg upgrade cannot drop them
    silently.
    """
    sock = connection._transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # a Unix socket has no TCP to keep alive
    limits = settings.limits
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, limits.keepalive_idle_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, limits.keepalive_interval_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, limits.keepalive_count)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, limits.tcp_user_timeout_ms)


async def _init_connection(connection: asyncpg.Connection) -> None:
    _enable_keepalives(connection)
    # jsonb in and out as Python objects, decoded by orjson.
    await connection.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda value: orjson.dumps(value).decode(),
        decoder=orjson.loads,
    )


async def _create_pool() -> asyncpg.Pool:
    """The worker's pool; waits for the database (a cold deploy starts it alongside us)."""
    deadline = time.monotonic() + settings.connect_wait_seconds
    limits = settings.limits
    while True:
        try:
            return await asyncpg.create_pool(
                settings.database_url,
                # One connection per search slot, and one more that readiness never waits for.
                min_size=limits.concurrency + 1,
                max_size=limits.concurrency + 1,
                init=_init_connection,
                # Connect to a lost node: fail after this long. A statement: the server cancels it at
                # statement_timeout; the client gives up one second later if the server cannot even say so.
                timeout=limits.connect_timeout_s,
                command_timeout=limits.statement_timeout_ms / 1000 + 1,
                # One prepared statement per search shape (queries.py): a shape is the set of filters given,
                # and every shape fits: at most about 210 statements in the bench's mixes, 50 000 bodies included.
                statement_cache_size=STATEMENT_CACHE_SIZE,
                server_settings={
                    # See queries.py: each execution planned with its values, never a generic plan.
                    "plan_cache_mode": "force_custom_plan",
                    "statement_timeout": str(limits.statement_timeout_ms),
                    "application_name": "fastapi_search",
                },
            )
        except (OSError, asyncpg.PostgresError) as error:
            if time.monotonic() >= deadline:
                raise
            logger.warning("database not reachable yet (%s); retrying", error)
            await asyncio.sleep(1)


async def _wait_for_schema(pool: asyncpg.Pool) -> None:
    """Wait until the tables this release reads exist.

    The django service migrates (scripts/images/migrate_locked.py); a stack deploy starts both services at
    once, so a new FastAPI task can be up before the migration that adds ``part_totals`` (0004) has run,
    and would answer every search with an error. Waiting here keeps it from answering at all (``/livez``
    too), so Swarm's start-first update leaves the old task serving until the schema is there.
    """
    deadline = time.monotonic() + settings.connect_wait_seconds
    while True:
        async with pool.acquire() as connection:
            if await connection.fetchval(SCHEMA_READY):
                return
        if time.monotonic() >= deadline:
            raise RuntimeError("the catalog schema is not migrated (no part_totals): is the django service up?")
        logger.warning("waiting for the django service to migrate the catalog (no part_totals yet)")
        await asyncio.sleep(1)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # One pool per worker process, created with the event loop that will use it.
    app.state.pool = await _create_pool()
    await _wait_for_schema(app.state.pool)
    app.state.search_slots = asyncio.Semaphore(settings.limits.concurrency)
    app.state.search_cache = SearchCache(settings.search_cache)
    try:
        yield
    finally:
        await app.state.search_cache.aclose()
        await app.state.pool.close()


# The API's version (README, "Versions"): the unversioned paths are the task's own, and are this v1 too.
API_VERSION = "1"
V1_PREFIX = "/v1"
V1_OPENAPI_URL = f"{V1_PREFIX}/openapi.json"
DESCRIPTION = (
    f"Version {API_VERSION}: the unversioned paths and the same under {V1_PREFIX}/ answer byte for byte alike; "
    f"/openapi.json describes the first, {V1_OPENAPI_URL} the second. Every answer names its release in X-Release."
)

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


@asynccontextmanager
async def _search_connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection for one search: bounded concurrency, bounded wait, then a fast 503.

    At most DB_CONCURRENCY searches of this process run at once; the next waits at most DB_QUEUE_WAIT_MS
    for a slot. The pool has one connection more than there are slots, so /healthz always finds one.
    """
    slots: asyncio.Semaphore = request.app.state.search_slots
    try:
        async with asyncio.timeout(settings.limits.queue_wait_s):
            await slots.acquire()
    except TimeoutError:
        raise overloaded() from None
    try:
        async with request.app.state.pool.acquire(timeout=settings.limits.connect_timeout_s) as connection:
            yield connection
    finally:
        slots.release()


# A body over the limit is still read (and dropped) up to this size before the 400 goes out: a server that
# answers and closes with unread bytes in its socket makes the kernel send a reset, and the client loses
# the answer. Beyond it the client is not one to be polite to: the connection is closed.
DRAIN_MAX_BYTES = 1024 * 1024


async def _discard_rest(request: Request, already: int) -> None:
    size = already
    async for chunk in request.stream():
        size += len(chunk)
        if size > DRAIN_MAX_BYTES:
            break


async def _read_body(request: Request) -> bytes:
    """The request body, refused with the contract's 400 once it grows past the contract's limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        if int(declared) <= DRAIN_MAX_BYTES:
            await _discard_rest(request, 0)
        raise body_too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            await _discard_rest(request, size)
            raise body_too_large()
        chunks.append(chunk)
    return b"".join(chunks)


# Test releases only (search_contract/faults.py): unset, one flag is checked per search and nothing else.
SEARCH_FAULTS = settings.search_faults
search_error_share = ErrorShare(SEARCH_FAULTS.error_share)


async def _search_faults() -> None:
    """A test release's delay (awaited: the event loop serves the others meanwhile), then perhaps its 500.

    Before the body is read and before a database slot is taken, as Django's SearchFaultMiddleware: the delay
    holds no slot, and every search counts towards the share, whatever its body.
    """
    if SEARCH_FAULTS.delay_ms:
        await asyncio.sleep(SEARCH_FAULTS.delay_s)
    if search_error_share.next_fails():
        raise injected_fault()


async def search_part(request: Request) -> JSONBodyResponse:
    if SEARCH_FAULTS.active:
        await _search_faults()
    # The body is read and checked before a database slot is taken: a slow client holds no slot.
    filters = parse_search_request(await _read_body(request))
    cache: SearchCache = request.app.state.search_cache
    cache_control = ", ".join(request.headers.getlist("cache-control"))
    async with _search_connection(request) as connection:
        # Through the Redis response cache (search_cache.py); X-Cache says whether it answered.
        body, cache_status = await cache.part_search(connection, filters=filters, cache_control=cache_control)
    return JSONBodyResponse(body, headers={CACHE_HEADER: cache_status})


SEARCH_ROUTE: dict[str, Any] = {
    "methods": ["POST"],
    "responses": SEARCH_RESPONSES,
    "openapi_extra": {
        "requestBody": {"required": True, "content": {"application/json": {"schema": SEARCH_REQUEST_SCHEMA}}}
    },
}
app.add_api_route("/search/part/", search_part, **SEARCH_ROUTE)

# Version 1 under /v1/: the same handler, so the same bytes. Left out of /openapi.json, which stays the
# unversioned paths' document. Its own document, V1_OPENAPI_URL, is built from api_v1, which lists the same
# routes and is not served itself (an included router would hide its routes from _allowed_methods). A v2 gets
# routes and a document of its own beside these.
app.add_api_route(f"{V1_PREFIX}/search/part/", search_part, include_in_schema=False, **SEARCH_ROUTE)
api_v1 = APIRouter(prefix=V1_PREFIX)
api_v1.add_api_route("/search/part/", search_part, **SEARCH_ROUTE)
_v1_documents: dict[str, dict[str, Any]] = {}


@app.get(V1_OPENAPI_URL, include_in_schema=False)
async def openapi_v1(request: Request) -> JSONBytesResponse:
    """Version 1's OpenAPI document: its paths under /v1/, behind Nginx's root path as FastAPI's own says it."""
    root_path = str(request.scope.get("root_path", "")).rstrip("/")
    document = _v1_documents.get(root_path)
    if document is None:
        document = get_openapi(
            title=app.title,
            version=API_VERSION,
            description=DESCRIPTION,
            routes=api_v1.routes,
            servers=[{"url": root_path}] if root_path else None,
        )
        _v1_documents[root_path] = document
    return JSONBytesResponse(document)


# Readiness waits at most this long for a pooled connection and for its query. The pool keeps one connection
# beyond the search slots, so a busy task stays ready; a database that does not answer in time is "not ready".
HEALTH_WAIT_SECONDS = 1.0
# Failures of the connection itself (server gone, refused, restarting), not of a query.
DATABASE_CONNECTION_ERRORS = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
)


def _health_response(answer: HealthAnswer) -> JSONBytesResponse:
    return JSONBytesResponse(answer.body, status_code=answer.status)


async def livez() -> JSONBytesResponse:
    """Liveness, for Swarm's health check (search_contract/health.py)."""
    return _health_response(liveness())


async def healthz(request: Request) -> JSONBytesResponse:
    """Readiness, for Nginx's watcher (search_contract/health.py): the drain rule, then the database."""

    async def database_answers() -> bool:
        try:
            async with request.app.state.pool.acquire(timeout=HEALTH_WAIT_SECONDS) as connection:
                await connection.fetchval(HEALTH_CHECK_SQL, timeout=HEALTH_WAIT_SECONDS)
        except (TimeoutError, asyncpg.PostgresError, *DATABASE_CONNECTION_ERRORS):
            return False
        return True

    answer = await readiness_async(drain_marker=settings.drain_marker, database_answers=database_answers)
    return _health_response(answer)


# One route per method, so each has an operation id of its own in the OpenAPI document.
for _method in HEALTH_METHODS:
    app.add_api_route(
        LIVENESS_PATH, livez, methods=[_method], responses=LIVENESS_RESPONSES, operation_id=f"livez_{_method.lower()}"
    )
    app.add_api_route(
        READINESS_PATH,
        healthz,
        methods=[_method],
        responses=READINESS_RESPONSES,
        operation_id=f"healthz_{_method.lower()}",
    )


def _error_response(error: ContractError) -> JSONBytesResponse:
    return JSONBytesResponse(error.body(), status_code=error.status, headers=error.headers)


@app.exception_handler(ContractError)
async def contract_error(request: Request, exc: ContractError) -> JSONBytesResponse:
    return _error_response(exc)


def _allowed_methods(request: Request) -> str:
    """Every method some route takes on this path. Starlette's own Allow names only the first route's, and the
    probes have one route per method (one operation id each in the OpenAPI document)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


@app.exception_handler(StarletteHTTPException)
async def http_error(request: Request, exc: StarletteHTTPException) -> JSONBytesResponse:
    if exc.status_code == 405:
        return _error_response(method_not_allowed(method=request.method, allowed=_allowed_methods(request)))
    if exc.status_code == 404:
        return _error_response(not_found())
    body: dict[str, Any] = error_body(code="http_error", message=str(exc.detail))
    return JSONBytesResponse(body, status_code=exc.status_code, headers=exc.headers)


@app.exception_handler(Exception)
async def unexpected_error(request: Request, exc: Exception) -> JSONBytesResponse:
    # The server's statement timeout, or the client-side command timeout behind it.
    if isinstance(exc, asyncpg.QueryCanceledError | TimeoutError):
        return _error_response(query_timeout())
    if isinstance(exc, DATABASE_CONNECTION_ERRORS):
        return _error_response(database_unavailable())
    return _error_response(internal_error())
