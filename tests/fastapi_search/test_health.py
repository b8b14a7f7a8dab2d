"""Both services' probes answer from search_contract/health.py: the same bytes for every method."""

from __future__ import annotations

import httpx
import orjson

from search_contract.errors import internal_error
from tests.servers import Server


def _answer(server: Server, method: str, path: str) -> tuple[int, bytes, str | None]:
    response = httpx.request(method, f"{server.base_url}{path}")
    return response.status_code, response.content, response.headers.get("allow")


def test_probes_answer_alike_for_every_method(django_server: Server, fastapi_server: Server) -> None:
    for path in ("/livez", "/healthz"):
        for method in ("GET", "HEAD", "POST", "DELETE"):
            django, fastapi = _answer(django_server, method, path), _answer(fastapi_server, method, path)
            assert django == fastapi, (method, path)
    assert _answer(fastapi_server, "GET", "/livez") == (200, b'{"status":"alive"}', None)
    assert _answer(fastapi_server, "HEAD", "/healthz")[:2] == (200, b"")
    assert _answer(fastapi_server, "POST", "/livez")[0::2] == (405, "GET, HEAD")


def test_the_500_body_both_services_send_is_pinned() -> None:
    """Both apps render internal_error(); its exact bytes are part of the contract clients parse."""
    error = internal_error()
    assert error.status == 500
    assert orjson.dumps(error.body()) == (
        b'{"error":{"code":"internal_error","message":"The server could not answer this request.","fields":{}}}'
    )
