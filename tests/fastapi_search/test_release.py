"""fastapi_search/release.py: X-Release on every answer, the 500 that ServerErrorMiddleware renders included."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import Request
from fastapi.responses import JSONResponse

from fastapi_search.release import ReleasedFastAPI
from search_contract.release import RELEASE_HEADER

RELEASE = "blue-3f2c1ab"


def _app() -> ReleasedFastAPI:
    app = ReleasedFastAPI(release=RELEASE)

    @app.get("/ok")
    async def ok() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    # The service's handler for every unexpected exception runs in ServerErrorMiddleware, outside user middleware.
    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "internal"}, status_code=500)

    return app


async def _get_all(paths: list[str]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return [await client.get(path) for path in paths]


def test_every_answer_carries_the_release_once() -> None:
    answers = asyncio.run(_get_all(["/ok", "/boom", "/no/such/route", "/openapi.json"]))
    assert [answer.status_code for answer in answers] == [200, 500, 404, 200]
    for answer in answers:
        assert answer.headers.get_list(RELEASE_HEADER) == [RELEASE], answer.request.url
    assert answers[0].json() == {"status": "ok"}
