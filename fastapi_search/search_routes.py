"""``POST /search/part/``, unversioned and under ``/v1/``, and version 1's own OpenAPI document."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi

from fastapi_search.request_body import body_read
from fastapi_search.responses import JSONBodyResponse, JSONBytesResponse
from fastapi_search.worker_state import worker_state
from search_contract import parse_search_request
from search_contract.errors import injected_fault
from search_contract.openapi import SEARCH_REQUEST_SCHEMA, SEARCH_RESPONSES
from service_common.faults import ErrorShare, SearchFaults
from service_common.search_cache import CACHE_HEADER

# The API's version (README, "Versions"): the unversioned paths are the task's own, and are this v1 too.
API_VERSION = "1"
V1_PREFIX = "/v1"
V1_OPENAPI_URL = f"{V1_PREFIX}/openapi.json"
DESCRIPTION = (
    f"Version {API_VERSION}: the unversioned paths and the same under {V1_PREFIX}/ answer byte for byte alike; "
    f"/openapi.json describes the first, {V1_OPENAPI_URL} the second. Every answer names its release in X-Release."
)
SEARCH_ROUTE: dict[str, Any] = {
    "methods": ["POST"],
    "responses": SEARCH_RESPONSES,
    "openapi_extra": {
        "requestBody": {"required": True, "content": {"application/json": {"schema": SEARCH_REQUEST_SCHEMA}}}
    },
}


def search_routes_add(app: FastAPI, *, faults: SearchFaults) -> None:
    """Add the search, in every version, to ``app``, with a test release's ``faults`` (service_common/faults.py).

    With ``faults`` unset, one flag is checked per search and nothing else.
    """
    error_share = ErrorShare(faults.error_share)

    async def search_faults() -> None:
        """A test release's delay (awaited: the event loop serves the others meanwhile), then perhaps its 500.

        Before the body is read and before a database slot is taken, as Django's SearchFaultMiddleware: the
        delay holds no slot, and every search counts towards the share, whatever its body.
        """
        if faults.delay_ms:
            await asyncio.sleep(faults.delay_s)
        if error_share.next_fails():
            raise injected_fault()

    async def search_part(request: Request) -> JSONBodyResponse:
        if faults.active:
            await search_faults()
        # The body is read and checked before a database slot is taken: a slow client holds no slot.
        filters = parse_search_request(await body_read(request))
        state = worker_state(request)
        cache_control = ", ".join(request.headers.getlist("cache-control"))
        async with state["search_slots"].connection() as connection:
            # Through the Redis response cache (search_cache.py); X-Cache says whether it answered.
            body, cache_status = await state["search_cache"].part_search(
                connection, filters=filters, cache_control=cache_control
            )
        return JSONBodyResponse(body, headers={CACHE_HEADER: cache_status})

    app.add_api_route("/search/part/", search_part, **SEARCH_ROUTE)

    # Version 1 under /v1/: the same handler, so the same bytes. Left out of /openapi.json, which stays the
    # unversioned paths' document. Its own document, V1_OPENAPI_URL, is built from api_v1, which lists the same
    # routes and is not served itself (an included router would hide its routes from _allowed_methods in
    # error_handlers.py). A v2 gets routes and a document of its own beside these.
    app.add_api_route(f"{V1_PREFIX}/search/part/", search_part, include_in_schema=False, **SEARCH_ROUTE)
    api_v1 = APIRouter(prefix=V1_PREFIX)
    api_v1.add_api_route("/search/part/", search_part, **SEARCH_ROUTE)
    v1_documents: dict[str, dict[str, Any]] = {}

    @app.get(V1_OPENAPI_URL, include_in_schema=False)
    async def openapi_v1(request: Request) -> JSONBytesResponse:
        """Version 1's OpenAPI document: its paths under /v1/, behind Nginx's root path as FastAPI's own says it."""
        root_path = str(request.scope.get("root_path", "")).rstrip("/")
        document = v1_documents.get(root_path)
        if document is None:
            document = get_openapi(
                title=app.title,
                version=API_VERSION,
                description=DESCRIPTION,
                routes=api_v1.routes,
                servers=[{"url": root_path}] if root_path else None,
            )
            v1_documents[root_path] = document
        return JSONBytesResponse(document)
