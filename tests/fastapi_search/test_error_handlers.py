"""fastapi_search/error_handlers.py: every error the FastAPI service answers is the contract's JSON body."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import orjson
import pytest
from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException

from fastapi_search.error_handlers import error_handlers_add
from search_contract import ContractError
from search_contract.errors import (
    database_unavailable,
    internal_error,
    method_not_allowed,
    not_found,
    overloaded,
    query_timeout,
)


def _app(failure: BaseException) -> FastAPI:
    app = FastAPI()
    error_handlers_add(app)

    async def fails() -> None:
        raise failure

    async def answers() -> dict[str, str]:
        return {"status": "ok"}

    app.add_api_route("/fails", fails, methods=["GET"])
    # One route per method on one path, as the probes have: a 405 names them all.
    for method in ("GET", "HEAD"):
        app.add_api_route("/probe", answers, methods=[method], operation_id=f"probe_{method.lower()}")
    return app


async def _request(app: FastAPI, method: str, path: str) -> httpx.Response:
    # The Exception handler runs in ServerErrorMiddleware, which answers and then raises again for the server.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path)


def _assert_renders(answer: httpx.Response, error: ContractError) -> None:
    assert answer.status_code == error.status
    assert answer.content == orjson.dumps(error.body())
    assert answer.headers["content-type"] == "application/json"
    for name, value in error.headers.items():
        assert answer.headers[name] == value


@pytest.mark.parametrize(
    ("failure", "rendered"),
    [
        (overloaded(), overloaded()),
        (asyncpg.QueryCanceledError("canceling statement due to statement timeout"), query_timeout()),
        (TimeoutError(), query_timeout()),
        (ConnectionRefusedError(), database_unavailable()),
        (asyncpg.CannotConnectNowError("the database system is starting up"), database_unavailable()),
        (asyncpg.AdminShutdownError("terminating connection due to administrator command"), database_unavailable()),
        (asyncpg.InterfaceError("connection is closed"), database_unavailable()),
        (asyncpg.UndefinedTableError('relation "part" does not exist'), internal_error()),
        (RuntimeError("a bug"), internal_error()),
    ],
    ids=lambda value: type(value).__name__,
)
def test_each_failure_is_rendered_as_its_contract_error(failure: BaseException, rendered: ContractError) -> None:
    _assert_renders(asyncio.run(_request(_app(failure), "GET", "/fails")), rendered)


def test_404_and_405_are_the_contracts_and_405_allows_every_route_of_the_path() -> None:
    app = _app(RuntimeError("unused"))
    _assert_renders(asyncio.run(_request(app, "GET", "/no/such/route")), not_found())
    # Starlette's own Allow would name only the first route's method.
    refused = asyncio.run(_request(app, "POST", "/probe"))
    _assert_renders(refused, method_not_allowed(method="POST", allowed="GET, HEAD"))


def test_another_http_error_keeps_its_status_and_headers_in_the_json_shape() -> None:
    app = _app(StarletteHTTPException(status_code=418, detail="short and stout", headers={"X-Teapot": "1"}))
    answer = asyncio.run(_request(app, "GET", "/fails"))
    assert answer.status_code == 418
    assert answer.json() == {"error": {"code": "http_error", "message": "short and stout", "fields": {}}}
    assert answer.headers["x-teapot"] == "1"


def test_the_500_body_both_services_send_is_pinned() -> None:
    """Both apps render internal_error(); its exact bytes are part of the contract clients parse."""
    error = internal_error()
    assert error.status == 500
    assert orjson.dumps(error.body()) == (
        b'{"error":{"code":"internal_error","message":"The server could not answer this request.","fields":{}}}'
    )
