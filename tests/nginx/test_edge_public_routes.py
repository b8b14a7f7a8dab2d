"""What the public port serves, and to whom (issue 16, part 2): the apps' health probes are for Swarm and the
upstream watcher, which reach tasks directly, so the public gets the contract's 404 for them ("Probes"); an
oversized header or URI gets the contract's JSON error, not Nginx's HTML page ("Oversized input"); and only an
operator may make a search skip the response cache ("Cache bypass").

An operator is a request with the edge's operator token (X-Edge-Operator-Token, compared with the file that
EDGE_OPERATOR_TOKEN_FILE names: the edge_operator_token Docker secret in the stack). `make bench` reads it from
the Nginx task to measure the probes and the searches without the cache.
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from search_contract.errors import not_found
from tests.nginx.edge_server import Edge, Reply, running_edge

JSON = {"Content-Type": "application/json"}
OPERATOR_TOKEN = "operator-token-for-the-edge-tests-0123456789"  # noqa: S105 (a made-up one)
OPERATOR = {"X-Edge-Operator-Token": OPERATOR_TOKEN}
PROBES = ["/healthz", "/livez", "/fastapi/healthz", "/fastapi/livez"]
SEARCHES = ["/search/part/", "/fastapi/search/part/"]


@pytest.fixture(scope="module")
def token_file() -> Iterator[Path]:
    # Outside pytest's own temporary folders, which only root may enter: Nginx's workers run as nobody here.
    folder = Path(tempfile.mkdtemp(prefix="partscat-edge-operator-"))
    folder.chmod(0o755)
    path = folder / "edge_operator_token"
    path.write_text(OPERATOR_TOKEN + "\n")  # a trailing newline, as files often end
    path.chmod(0o644)
    yield path
    shutil.rmtree(folder)


@pytest.fixture(scope="module")
def edge(backend: int, token_file: Path) -> Iterator[Edge]:
    with running_edge(environ={"EDGE_OPERATOR_TOKEN_FILE": str(token_file)}) as running:
        running.push_peers(django_blue=[backend], fastapi_blue=[backend])
        yield running


def _echoed(reply: Reply) -> dict[str, object]:
    """What the echo backend received (path, headers)."""
    assert reply[0] == 200, reply
    echoed: dict[str, object] = json.loads(reply[2])
    return echoed


def _raw(edge: Edge, request: bytes) -> Reply:
    with socket.create_connection(("127.0.0.1", edge.port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, body = answer.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


# --- probes ---


@pytest.mark.parametrize("path", [*PROBES, "/heal%74hz", "//healthz", "/fastapi//livez", "/healthz?full=1"])
def test_the_probes_are_not_served_to_the_public(edge: Edge, path: str) -> None:
    status, headers, body = edge.request("GET", path)
    assert (status, body) == (404, orjson.dumps(not_found().body()))
    assert headers["content-type"] == "application/json"
    assert edge.request("HEAD", path)[0] == 404


@pytest.mark.parametrize(
    ("path", "reaches"), [("/healthz", "/healthz"), ("/livez", "/livez"), ("/fastapi/healthz", "/healthz")]
)
def test_an_operator_reaches_the_probes_and_the_token_goes_no_further(edge: Edge, path: str, reaches: str) -> None:
    echoed = _echoed(edge.request("GET", path, headers=OPERATOR))
    assert echoed["path"] == reaches
    assert "x-edge-operator-token" not in echoed["headers"]  # type: ignore[operator]


def test_a_wrong_operator_token_is_the_public(edge: Edge) -> None:
    for token in ("", OPERATOR_TOKEN[:-1], OPERATOR_TOKEN + "x", OPERATOR_TOKEN.upper()):
        assert edge.request("GET", "/healthz", headers={"X-Edge-Operator-Token": token})[0] == 404, token


def test_without_an_operator_token_file_nobody_is_an_operator(backend: int) -> None:
    with running_edge() as plain:
        plain.push_peers(django_blue=[backend], fastapi_blue=[backend])
        assert plain.request("GET", "/healthz", headers=OPERATOR)[0] == 404
        asked = {**JSON, **OPERATOR, "Cache-Control": "no-cache"}
        assert "cache-control" not in _echoed(plain.request("POST", "/search/part/", b"{}", asked))["headers"]  # type: ignore[operator]


# --- oversized input ---


def test_a_uri_over_the_limit_gets_the_contracts_json_414(edge: Edge) -> None:
    status, headers, body = _raw(edge, f"GET /mark/?q={'a' * 9000} HTTP/1.1\r\nHost: edge\r\n\r\n".encode())
    assert status == 414, body[:300]
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert (error["code"], error["fields"]) == ("uri_too_long", {})


@pytest.mark.parametrize("header", [f"X-Big: {'b' * 20_000}", f"Cookie: {'c' * 20_000}"])
def test_a_header_over_the_limit_gets_the_contracts_json_431(edge: Edge, header: str) -> None:
    status, headers, body = _raw(edge, f"GET /mark/ HTTP/1.1\r\nHost: edge\r\n{header}\r\n\r\n".encode())
    assert status == 431, body[:300]
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert (error["code"], error["fields"]) == ("headers_too_large", {})
    # A 7 KB header fits Nginx's 8 KB buffers: served.
    fits = f"GET /mark/ HTTP/1.1\r\nHost: edge\r\nX-Part: {'p' * 7000}\r\nConnection: close\r\n\r\n"
    assert _raw(edge, fits.encode())[0] == 200


def test_many_headers_that_fill_every_buffer_get_the_same_431(edge: Edge) -> None:
    headers = "".join(f"X-Part-{n}: {'p' * 7000}\r\n" for n in range(6))  # 42 KB: more than 4 x 8 KB
    status, _headers, body = _raw(edge, f"GET /mark/ HTTP/1.1\r\nHost: edge\r\n{headers}\r\n".encode())
    assert (status, json.loads(body)["error"]["code"]) == (431, "headers_too_large")


# --- the search cache bypass ---


@pytest.mark.parametrize("path", SEARCHES)
@pytest.mark.parametrize("cache_control", ["no-cache", "no-store", "max-age=0, No-Cache"])
def test_the_public_cannot_make_a_search_skip_the_cache(edge: Edge, path: str, cache_control: str) -> None:
    echoed = _echoed(edge.request("POST", path, b"{}", {**JSON, "Cache-Control": cache_control}))
    assert "cache-control" not in echoed["headers"]  # type: ignore[operator]


@pytest.mark.parametrize("path", SEARCHES)
def test_an_operator_can_make_a_search_skip_the_cache(edge: Edge, path: str) -> None:
    echoed = _echoed(edge.request("POST", path, b"{}", {**JSON, **OPERATOR, "Cache-Control": "no-cache"}))
    headers = echoed["headers"]
    assert headers["cache-control"] == "no-cache"  # type: ignore[index]
    assert "x-edge-operator-token" not in headers  # type: ignore[operator]


def test_other_routes_keep_the_clients_cache_control_and_never_see_the_token(edge: Edge) -> None:
    headers = _echoed(edge.request("GET", "/mark/", headers={**OPERATOR, "Cache-Control": "no-cache"}))["headers"]
    assert headers["cache-control"] == "no-cache"  # type: ignore[index]
    assert "x-edge-operator-token" not in headers  # type: ignore[operator]
