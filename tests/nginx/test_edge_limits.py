"""Limits at the edge and the errors Nginx answers itself, in a real Nginx with the shipped nginx.conf.

Body limits per route (the searches' 64 KiB gives the apps' own 400, byte for byte), admin login attempts per
address, client timeouts, and every error Nginx produces (405, 413, 429, 502, 504) in the services' JSON shape.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest

from search_contract import MAX_BODY_BYTES, body_too_large, error_body
from tests.nginx.edge_server import Edge, Reply, running_edge
from tests.servers import Server, free_port

JSON = {"Content-Type": "application/json"}
SEARCHES = ["/search/part/", "/fastapi/search/part/"]
IMPORT_LIMIT = 100 * 1024 * 1024


@pytest.fixture(scope="module")
def edge(backend: int) -> Iterator[Edge]:
    with running_edge(tls=True) as running:
        running.push_peers(django_blue=[backend], fastapi_blue=[backend])
        yield running


def _assert_error(reply: Reply, status: int, code: str) -> dict[str, Any]:
    """An error Nginx answered: the status, JSON, and exactly the services' shape."""
    assert reply[0] == status, reply
    assert reply[1]["content-type"] == "application/json", reply[1]
    body = json.loads(reply[2])
    assert body == error_body(code=code, message=body["error"]["message"], fields=body["error"]["fields"])
    assert body["error"]["message"]
    return dict(body["error"])


def _raw_exchange(port: int, head: bytes, *, timeout: float = 10) -> bytes:
    """Send bytes as they are (a request head only, say) and read until Nginx closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass  # reset_timedout_connection: a timed-out client is reset
        return b"".join(chunks)


# --- body limits ---


@pytest.mark.parametrize("path", SEARCHES)
def test_a_search_body_of_64_kib_reaches_the_app(edge: Edge, path: str) -> None:
    status, _headers, body = edge.request("POST", path, b" " * MAX_BODY_BYTES, JSON)
    assert (status, json.loads(body)["body_bytes"]) == (200, MAX_BODY_BYTES)


@pytest.mark.parametrize(("path", "app"), [("/search/part/", "django"), ("/fastapi/search/part/", "fastapi")])
def test_a_search_body_over_64_kib_gets_what_the_apps_answer(
    edge: Edge, path: str, app: str, request: pytest.FixtureRequest
) -> None:
    server: Server = request.getfixturevalue(f"{app}_server")
    oversize = b" " * (MAX_BODY_BYTES + 1)
    status, headers, body = edge.request("POST", path, oversize, JSON)
    direct = httpx.post(f"{server.base_url}/search/part/", content=oversize, headers=JSON)

    assert (status, body) == (direct.status_code, direct.content)
    assert body == orjson.dumps(body_too_large().body())
    assert headers["content-type"] == direct.headers["content-type"] == "application/json"
    assert status == 400


@pytest.mark.parametrize("path", SEARCHES)
def test_a_chunked_search_body_over_64_kib_gets_the_same_400(edge: Edge, path: str) -> None:
    # No Content-Length to refuse up front: Nginx counts while it reads.
    connection = http.client.HTTPConnection("127.0.0.1", edge.port, timeout=10)
    try:
        chunks = iter([b" " * 40_000, b" " * 40_000])
        connection.request("POST", path, body=chunks, headers=JSON, encode_chunked=True)
        response = connection.getresponse()
        assert (response.status, response.read()) == (400, orjson.dumps(body_too_large().body()))
    finally:
        connection.close()


@pytest.mark.parametrize(
    "path", ["/mark/", "/api/jobs/", "/admin/catalog/part/add/", "/fastapi/other/", "/api/jobs/import-not/"]
)
def test_other_routes_take_64_kib_and_answer_413_json_above(edge: Edge, path: str) -> None:
    tls = path.startswith("/admin/")  # with TLS on, the admin is served over HTTPS only
    assert edge.request("POST", path, b"x" * MAX_BODY_BYTES, tls=tls)[0] == 200
    error = _assert_error(edge.request("POST", path, b"x" * (MAX_BODY_BYTES + 1), tls=tls), 413, "body_too_large")
    assert error["fields"] == {}


def test_the_import_route_takes_large_uploads_up_to_100_mib(edge: Edge) -> None:
    upload = b"p" * (5 * 1024 * 1024)
    status, _headers, body = edge.request("POST", "/api/jobs/import/", upload, {"Content-Type": "text/csv"})
    assert (status, json.loads(body)["body_bytes"]) == (200, len(upload))
    # Refused from the Content-Length alone, before a byte of the body is read.
    head = (
        f"POST /api/jobs/import/ HTTP/1.1\r\nHost: edge\r\nContent-Length: {IMPORT_LIMIT + 1}\r\n"
        "Connection: close\r\n\r\n"
    )
    answer = _raw_exchange(edge.port, head.encode())
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "body_too_large"


# --- admin login attempts ---


def test_admin_login_attempts_are_limited_per_address_and_page_loads_are_not(edge: Edge) -> None:
    # Over HTTPS: with TLS on, the admin is not served over plain HTTP (tests/nginx/test_edge_https.py).
    # Loading the login page does not count, however often.
    assert [edge.request("GET", "/admin/login/", tls=True)[0] for _ in range(10)] == [200] * 10
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    attempts = [edge.request("POST", "/admin/login/", b"username=a&password=b", form, tls=True)[0] for _ in range(5)]
    assert attempts == [200] * 5
    # The 6th within the minute: 429 JSON, Retry-After, and HSTS like every HTTPS answer.
    refused = edge.request("POST", "/admin/login/", b"username=a&password=b", form, tls=True)
    _assert_error(refused, 429, "too_many_requests")
    assert refused[1]["retry-after"] == "12"
    assert refused[1]["strict-transport-security"].startswith("max-age=")
    assert edge.request("POST", "/admin/login/?next=/admin/", b"", form, tls=True)[0] == 429
    # Pages and other POSTs are not limited.
    assert edge.request("GET", "/admin/login/", tls=True)[0] == 200
    assert edge.request("POST", "/search/part/", b"{}", JSON)[0] == 200
    assert edge.request("POST", "/admin/catalog/part/add/", b"x=1", form, tls=True)[0] == 200


# --- methods Nginx refuses itself, dead tasks ---


@pytest.mark.parametrize(("method", "path"), [("TRACE", "/mark/"), ("TRACE", "/static/x.css"), ("CONNECT", "/")])
def test_methods_nginx_refuses_get_a_json_405(edge: Edge, method: str, path: str) -> None:
    reply = edge.request(method, path)
    error = _assert_error(reply, 405, "method_not_allowed")
    assert method in error["message"]
    assert "GET" in reply[1]["allow"]


def _chunked_search_over_the_limit(edge: Edge, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", edge.port, timeout=10)
    try:
        connection.request("POST", path, body=iter([b" " * 40_000] * 2), headers=JSON, encode_chunked=True)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _searches_in_flight(edge: Edge, settle: float = 2.0) -> dict[str, int]:
    """The admission slots still taken, once the last answers' log phases have run: Nginx gives a slot back in
    the log phase, after the client has its answer, so a test that asks at once can see it still taken. A lost
    slot stays taken for good, so waiting up to ``settle`` seconds still catches one."""
    deadline = time.monotonic() + settle
    while True:
        taken = {service: count for service, count in edge.state()["inflight"].items() if count}
        if not taken or time.monotonic() > deadline:
            return taken
        time.sleep(0.05)


def test_nginx_error_pages_on_a_search_give_its_admission_slot_back(edge: Edge, backend: int) -> None:
    # The search was admitted (lua/admission.lua) before Nginx answered the error itself. Were its slot lost,
    # a few of these would leave every search of the app shed with 503s. More than the per-task limit here.
    for _ in range(10):
        assert [_chunked_search_over_the_limit(edge, path) for path in SEARCHES] == [400, 400]
    edge.push_peers(django_blue=[free_port()], fastapi_blue=[free_port()])
    try:
        for _ in range(10):
            assert [edge.request("POST", path, b"{}", JSON)[0] for path in SEARCHES] == [502, 502]
    finally:
        edge.push_peers(django_blue=[backend], fastapi_blue=[backend])
    assert _searches_in_flight(edge) == {}
    assert [edge.request("POST", path, b"{}", JSON)[0] for path in SEARCHES] == [200, 200]


def test_a_dead_task_gives_a_json_502(edge: Edge, backend: int) -> None:
    edge.push_peers(django_blue=[free_port()])
    try:
        reply = edge.request("GET", "/mark/")
    finally:
        edge.push_peers(django_blue=[backend])
    _assert_error(reply, 502, "bad_gateway")


# --- timeouts (shortened to 1 s here, so the test is quick; the shipped values are in nginx.conf) ---


class _SlowBackend(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(3)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def impatient_edge() -> Iterator[Edge]:
    slow = ThreadingHTTPServer(("127.0.0.1", 0), _SlowBackend)
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    rewrite = {
        "client_header_timeout 10s;": "client_header_timeout 1s;",
        "client_body_timeout 20s;": "client_body_timeout 1s;",
        "client_body_timeout 5s;": "client_body_timeout 1s;",  # the search routes'
        "proxy_read_timeout 15s;": "proxy_read_timeout 1s;",
    }
    try:
        with running_edge(rewrite=rewrite) as running:
            running.push_peers(django_blue=[int(slow.server_address[1])])
            yield running
    finally:
        slow.shutdown()
        slow.server_close()


def test_a_task_that_does_not_answer_in_time_gives_a_json_504(impatient_edge: Edge) -> None:
    _assert_error(impatient_edge.request("GET", "/mark/"), 504, "gateway_timeout")
    # A search too, and it gives its admission slot back.
    _assert_error(impatient_edge.request("POST", "/search/part/", b"{}", JSON), 504, "gateway_timeout")
    assert _searches_in_flight(impatient_edge) == {}


@pytest.mark.parametrize(
    "head",
    [
        b"GET /mark/ HTTP/1.1\r\nHost: edge\r\n",  # headers never finished
        b"POST /search/part/ HTTP/1.1\r\nHost: edge\r\nContent-Length: 100\r\n\r\n{",  # body never finished
    ],
)
def test_a_stalled_client_is_dropped(impatient_edge: Edge, head: bytes) -> None:
    started = time.monotonic()
    answer = _raw_exchange(impatient_edge.port, head)
    elapsed = time.monotonic() - started
    assert 0.8 < elapsed < 5, elapsed
    # Dropped without an answer, or at most with a 408: never passed on to the app.
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer[:200]
