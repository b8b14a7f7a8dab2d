"""Headers at the edge, in a real Nginx with the shipped nginx.conf and lua/edge_debug.lua.

The forwarding headers the apps trust are the ones Nginx writes, whatever a client sent, on every route. Task
addresses reach clients only in debug mode (EDGE_DEBUG_HEADERS=1); the access log has them either way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.nginx.edge_server import Edge, running_edge
from tests.servers import free_port

# Every kind of location in nginx.conf: a location that set its own proxy_set_header would lose the server's.
ROUTES = [
    ("GET", "/mark/"),
    ("POST", "/search/part/"),
    ("POST", "/fastapi/search/part/"),
    ("GET", "/fastapi/docs"),
    ("POST", "/fastapi/other/"),
    ("GET", "/admin/login/"),
    ("POST", "/api/jobs/import/"),
    ("POST", "/api/jobs/"),
]

SPOOFED = {
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Port": "443",
    "X-Forwarded-Ssl": "on",
    "X-Forwarded-Protocol": "ssl",
    "Forwarded": "for=203.0.113.9;proto=https;host=evil.example",
}


@pytest.fixture(scope="module")
def edge(backend: int) -> Iterator[Edge]:
    with running_edge() as running:
        running.push_peers(django_blue=[backend], fastapi_blue=[backend])
        yield running


@pytest.fixture(scope="module")
def debug_edge(backend: int) -> Iterator[Edge]:
    with running_edge(environ={"EDGE_DEBUG_HEADERS": "1"}) as running:
        running.push_peers(django_blue=[backend], fastapi_blue=[backend])
        yield running


def _seen_by_backend(edge: Edge, method: str, path: str) -> dict[str, str]:
    status, _headers, body = edge.request(method, path, b"{}" if method == "POST" else None, SPOOFED)
    assert status == 200, body
    return dict(json.loads(body)["headers"])


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_the_forwarding_headers_are_the_edges_own(edge: Edge, method: str, path: str) -> None:
    seen = _seen_by_backend(edge, method, path)

    host = f"127.0.0.1:{edge.port}"
    assert seen["host"] == host
    assert seen["x-forwarded-host"] == host
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-for"] == "127.0.0.1"
    # Headers that gunicorn or uvicorn would also read for the scheme or the client do not get through.
    for dropped in ("x-forwarded-port", "x-forwarded-ssl", "x-forwarded-protocol", "forwarded"):
        assert dropped not in seen, (dropped, seen)


@pytest.mark.parametrize(("method", "path"), [("GET", "/mark/"), ("POST", "/search/part/"), ("POST", "/api/jobs/")])
def test_task_addresses_are_not_sent_to_clients_by_default(edge: Edge, backend: int, method: str, path: str) -> None:
    status, headers, _body = edge.request(method, path, b"{}" if method == "POST" else None)

    assert status == 200
    assert "x-upstream-addr" not in headers
    # Operators still see which task answered, in the access log.
    assert f"upstream=127.0.0.1:{backend} " in edge.access_log()


def test_no_task_address_on_the_edges_own_answers_either(edge: Edge, backend: int) -> None:
    # A dead task (502) and the placeholder for a service without tasks (503).
    edge.push_peers(django_blue=[free_port()], fastapi_blue=[])
    try:
        replies = [edge.request("GET", "/mark/"), edge.request("POST", "/fastapi/search/part/", b"{}")]
    finally:
        edge.push_peers(django_blue=[backend], fastapi_blue=[backend])
    assert [reply[0] for reply in replies] == [502, 503]
    assert all("x-upstream-addr" not in reply[1] for reply in replies)


def test_debug_mode_names_the_task_that_answered(debug_edge: Edge, backend: int) -> None:
    for method, path in (("GET", "/mark/"), ("POST", "/fastapi/search/part/")):
        status, headers, _body = debug_edge.request(method, path, b"{}" if method == "POST" else None)
        assert status == 200
        assert headers["x-upstream-addr"] == f"127.0.0.1:{backend}"


def test_debug_mode_lists_every_task_tried(debug_edge: Edge, backend: int) -> None:
    dead = free_port()
    debug_edge.push_peers(django_blue=[dead, backend])
    try:
        tried = {debug_edge.request("GET", "/mark/")[1]["x-upstream-addr"] for _ in range(4)}
    finally:
        debug_edge.push_peers(django_blue=[backend])
    # Round robin starts on the dead peer for some requests: those show both tasks, the answering one last.
    assert f"127.0.0.1:{backend}" in tried
    assert any(value.endswith(f", 127.0.0.1:{backend}") and str(dead) in value for value in tried), tried
