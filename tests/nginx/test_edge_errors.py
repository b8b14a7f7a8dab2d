"""Every error Nginx answers itself equals, byte for byte, what search_contract renders for it.

The bodies and headers live in nginx/lua/edge_errors.lua; EDGE_ERRORS below says what each must be, as a
ContractError (search_contract's own constructors where the apps answer the same error). Each is requested from
a real Nginx with the shipped nginx.conf, and every entry of the Lua table must have its case here.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator

import orjson
import pytest

from search_contract import MAX_BODY_BYTES, ContractError, body_too_large
from search_contract.errors import method_not_allowed, not_found, overloaded
from tests.nginx.edge_clients import pipelined_statuses
from tests.nginx.edge_server import NGINX_DIR, Edge, Reply, running_edge
from tests.servers import free_port

ALLOWED = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
JSON = {"Content-Type": "application/json"}


def _edge_error(status: int, code: str, message: str, retry_after: int | None = None) -> ContractError:
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return ContractError(status=status, code=code, message=message, headers=headers)


# name in edge_errors.lua -> the error it must render (405: for TRACE; the method is part of the message).
EDGE_ERRORS: dict[str, ContractError] = {
    "method_not_allowed": method_not_allowed(method="TRACE", allowed=ALLOWED),
    "search_body_too_large": body_too_large(),
    "body_too_large": _edge_error(413, "body_too_large", "The request body is larger than this route accepts."),
    "bad_request": _edge_error(400, "bad_request", "The request could not be parsed."),
    "too_many_login_attempts": _edge_error(
        429, "too_many_requests", "Too many login attempts from this address; retry later.", retry_after=12
    ),
    "too_many_requests": _edge_error(
        429, "too_many_requests", "Too many requests from this address at once; retry shortly.", retry_after=1
    ),
    "not_found": not_found(),
    "uri_too_long": _edge_error(414, "uri_too_long", "The request URI is longer than this server accepts."),
    "headers_too_large": _edge_error(
        431, "headers_too_large", "The request headers are larger than this server accepts."
    ),
    "https_required": _edge_error(403, "https_required", "The admin is served over HTTPS only."),
    "uploads_busy": _edge_error(
        503, "uploads_busy", "The server takes no more uploads at once; retry shortly.", retry_after=10
    ),
    "bad_gateway": _edge_error(502, "bad_gateway", "The service behind this route failed to answer."),
    "gateway_timeout": _edge_error(504, "gateway_timeout", "The service behind this route did not answer in time."),
    "service_unavailable": _edge_error(
        503, "service_unavailable", "No healthy task serves this route; retry shortly.", retry_after=5
    ),
    "overloaded": overloaded(),
}


@pytest.fixture(scope="module")
def edge(backend: int) -> Iterator[Edge]:
    # One search admitted per task and a short queue, so a second one at once is shed; a 1 s upstream timeout,
    # so ?sleep=2 on the echo backend is a task that does not answer in time; no upload slot at all (the echo
    # backend passes every token check), so an upload is refused as busy.
    environ = {
        "EDGE_PEER_CONCURRENCY": "django=1,fastapi=1",
        "EDGE_QUEUE_SECONDS": "0.1",
        "EDGE_UPLOAD_CONCURRENCY": "0",
    }
    with running_edge(environ=environ, rewrite={"proxy_read_timeout 15s;": "proxy_read_timeout 1s;"}) as e:
        e.push_peers(django_blue=[backend], fastapi_blue=[backend])
        yield e


def _assert_renders(reply: Reply, error: ContractError) -> None:
    status, headers, body = reply
    assert (status, body) == (error.status, orjson.dumps(error.body())), reply
    assert headers["content-type"] == "application/json"
    assert headers["content-length"] == str(len(body))
    for name, value in error.headers.items():
        assert headers[name.lower()] == value, headers


def _raw(edge: Edge, head: bytes) -> Reply:
    with socket.create_connection(("127.0.0.1", edge.port), timeout=10) as sock:
        sock.sendall(head)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head_text, body = answer.split(b"\r\n\r\n", 1)
    lines = head_text.decode().split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def _with_peers(edge: Edge, backend: int, peers: list[int], call: Callable[[], Reply]) -> Reply:
    edge.push_peers(django_blue=peers)
    try:
        return call()
    finally:
        edge.push_peers(django_blue=[backend], fastapi_blue=[backend])


def _shed_search(edge: Edge) -> Reply:
    slow = threading.Thread(target=edge.request, args=("POST", "/search/part/?sleep=0.8", b"{}", JSON))
    slow.start()
    time.sleep(0.3)
    try:
        return edge.request("POST", "/search/part/", b"{}", JSON)
    finally:
        slow.join()


def _flooded(edge: Edge) -> Reply:
    # From an address of its own: more requests at once than the per-address rate lets through.
    for _ in range(10):
        _codes, replies = pipelined_statuses(edge, "127.0.0.9", "/nginx-healthz", 1000)
        refused = next((reply for reply in replies if reply[0] == 429), None)
        if refused is not None:
            return refused
    pytest.fail("10 000 requests at once from one address were never refused")


def _https_required(request: pytest.FixtureRequest) -> Reply:
    tls_edge: Edge = request.getfixturevalue("tls_edge")
    return tls_edge.request("POST", "/admin/login/", b"u=a&p=b", {"Content-Type": "application/x-www-form-urlencoded"})


def _too_many_logins(edge: Edge) -> Reply:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    replies = [edge.request("POST", "/admin/login/", b"u=a&p=b", form) for _ in range(6)]
    assert [reply[0] for reply in replies[:5]] == [200] * 5
    return replies[5]


@pytest.fixture(scope="module")
def tls_edge(backend: int) -> Iterator[Edge]:
    with running_edge(tls=True) as running:
        running.push_peers(django_blue=[backend], fastapi_blue=[backend])
        yield running


# The cases that need another edge than the module's (a TLS listener): name -> how to get the answer.
OTHER_EDGE_CASES: dict[str, Callable[[pytest.FixtureRequest], Reply]] = {"https_required": _https_required}

CASES: dict[str, Callable[[Edge, int], Reply]] = {
    "method_not_allowed": lambda edge, _b: edge.request("TRACE", "/mark/"),
    "search_body_too_large": lambda edge, _b: edge.request("POST", "/search/part/", b" " * (MAX_BODY_BYTES + 1)),
    "body_too_large": lambda edge, _b: edge.request("POST", "/mark/", b"x" * (MAX_BODY_BYTES + 1)),
    # HTTP/1.1 without a Host header: Nginx refuses it before any location.
    "bad_request": lambda edge, _b: _raw(edge, b"GET /mark/ HTTP/1.1\r\nConnection: close\r\n\r\n"),
    "too_many_login_attempts": lambda edge, _b: _too_many_logins(edge),
    "too_many_requests": lambda edge, _b: _flooded(edge),
    "not_found": lambda edge, _b: edge.request("GET", "/healthz"),
    # A 9 KB URI and a 20 KB header: over large_client_header_buffers (8 KiB).
    "uri_too_long": lambda edge, _b: _raw(edge, f"GET /?q={'a' * 9000} HTTP/1.1\r\nHost: e\r\n\r\n".encode()),
    "headers_too_large": lambda edge, _b: _raw(
        edge, f"GET / HTTP/1.1\r\nHost: e\r\nX: {'b' * 20_000}\r\n\r\n".encode()
    ),
    "uploads_busy": lambda edge, _b: edge.request("POST", "/api/jobs/import/", b"x", {"Authorization": "Bearer t"}),
    "bad_gateway": lambda edge, b: _with_peers(edge, b, [free_port()], lambda: edge.request("GET", "/mark/")),
    "gateway_timeout": lambda edge, _b: edge.request("GET", "/mark/?sleep=2"),
    "service_unavailable": lambda edge, b: _with_peers(edge, b, [], lambda: edge.request("GET", "/mark/")),
    "overloaded": lambda edge, _b: _shed_search(edge),
}


def test_every_error_in_the_lua_table_has_its_case_here() -> None:
    table = (NGINX_DIR / "lua" / "edge_errors.lua").read_text()
    errors = table[table.index("M.ERRORS = {") : table.index("\n}\n", table.index("M.ERRORS = {"))]
    cases = set(CASES) | set(OTHER_EDGE_CASES)
    assert set(re.findall(r"^    (\w+) = \{", errors, flags=re.MULTILINE)) == set(EDGE_ERRORS) == cases


@pytest.mark.parametrize("name", sorted(EDGE_ERRORS))
def test_nginx_answers_the_error_byte_for_byte_as_search_contract_renders_it(
    edge: Edge, backend: int, name: str, request: pytest.FixtureRequest
) -> None:
    reply = OTHER_EDGE_CASES[name](request) if name in OTHER_EDGE_CASES else CASES[name](edge, backend)
    _assert_renders(reply, EDGE_ERRORS[name])


@pytest.mark.parametrize(("method", "path"), [("TRACE", "/"), ("TRACE", "/fastapi/docs"), ("CONNECT", "/")])
def test_methods_nginx_refuses_itself_get_the_contract_405_with_allow(edge: Edge, method: str, path: str) -> None:
    _assert_renders(edge.request(method, path), method_not_allowed(method=method, allowed=ALLOWED))


@pytest.mark.parametrize("method", ["TRACK", "PROPFIND", "PURGE"])
def test_other_unknown_methods_go_on_to_the_apps(edge: Edge, method: str) -> None:
    # Nginx passes them through; the apps answer their own JSON 405 (the echo backend here: 501, not Nginx's).
    status, _headers, _body = edge.request(method, "/mark/")
    assert status == 501
