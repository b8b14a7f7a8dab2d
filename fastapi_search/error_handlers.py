"""The one place the FastAPI service renders its errors: the contract's JSON error body (search_contract/errors.py)."""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from fastapi_search.db import DATABASE_CONNECTION_ERRORS
from fastapi_search.responses import JSONBytesResponse
from search_contract import ContractError
from search_contract.errors import (
    database_unavailable,
    error_body,
    internal_error,
    method_not_allowed,
    not_found,
    query_timeout,
)


def _error_response(error: ContractError) -> JSONBytesResponse:
    return JSONBytesResponse(error.body(), status_code=error.status, headers=error.headers)


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


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONBytesResponse:
    if exc.status_code == 405:
        return _error_response(method_not_allowed(method=request.method, allowed=_allowed_methods(request)))
    if exc.status_code == 404:
        return _error_response(not_found())
    body: dict[str, Any] = error_body(code="http_error", message=str(exc.detail))
    return JSONBytesResponse(body, status_code=exc.status_code, headers=exc.headers)


async def unexpected_error(request: Request, exc: Exception) -> JSONBytesResponse:
    # The server's statement timeout, or the client-side command timeout behind it.
    if isinstance(exc, asyncpg.QueryCanceledError | TimeoutError):
        return _error_response(query_timeout())
    if isinstance(exc, DATABASE_CONNECTION_ERRORS):
        return _error_response(database_unavailable())
    return _error_response(internal_error())


def error_handlers_add(app: FastAPI) -> None:
    """Render every error of ``app`` as the contract's JSON body: its own, Starlette's 404 and 405, and the rest."""
    app.exception_handler(ContractError)(contract_error)
    app.exception_handler(StarletteHTTPException)(http_error)
    app.exception_handler(Exception)(unexpected_error)
