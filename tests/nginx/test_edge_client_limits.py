"""Per-client limits at the edge (issue 16, part 2, "Per-client limits"): requests in progress and requests a
second per client address, with the shipped numbers of nginx/nginx.conf. A client over them gets a JSON 429
with Retry-After; other addresses are not touched; and an ordinary heavy client, `make bench`'s wrk with
128 keep-alive connections from one address, is not throttled at all.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.bench.results import wrk_parse
from tests.nginx.edge_clients import (
    ABUSIVE,
    JSON,
    ORDINARY,
    pipelined_statuses,
    request_from,
    trickling,
)
from tests.nginx.edge_server import Edge, running_edge
from tests.servers import ROOT

SEARCHES = ["/search/part/", "/fastapi/search/part/"]
# nginx.conf's numbers (the reasons are beside them there).
SEARCH_CONNECTIONS = 256
PAGE_CONNECTIONS = 64
RATE_PER_SECOND, RATE_BURST = 5000, 1000
WRK_LUA = ROOT / "scripts" / "bench" / "wrk.lua"


@pytest.fixture(scope="module")
def edge(backend: int) -> Iterator[Edge]:
    with running_edge() as running:
        running.push_peers(django_blue=[backend], fastapi_blue=[backend])
        yield running


def _assert_too_many(reply: tuple[int, dict[str, str], bytes]) -> None:
    status, headers, body = reply
    assert status == 429, reply
    assert headers["content-type"] == "application/json"
    assert headers["retry-after"] == "1"
    assert json.loads(body)["error"]["code"] == "too_many_requests"


@pytest.mark.parametrize(("path", "limit"), [("/search/part/", SEARCH_CONNECTIONS), ("/mark/", PAGE_CONNECTIONS)])
def test_requests_in_progress_per_address_are_limited(edge: Edge, path: str, limit: int) -> None:
    # `limit` requests of one address in progress at once (bodies trickling in), then one more.
    with trickling(edge, ABUSIVE, {path: limit}, every=1.0) as tricklers:
        time.sleep(0.5)
        assert tricklers.open_count() == limit, tricklers.answered[:3]
        _assert_too_many(request_from(edge, ABUSIVE, "POST", path, b"{}", JSON).reply)
        # Another address is not affected.
        assert request_from(edge, ORDINARY, "POST", path, b"{}", JSON).status == 200
    # Once they are gone, the address is served again.
    assert request_from(edge, ABUSIVE, "POST", path, b"{}", JSON).status == 200


def test_the_request_rate_per_address_is_limited(edge: Edge) -> None:
    # 10 x 1000 requests (Nginx's keepalive_requests) written at once on ten connections of one address, one
    # after the other: Nginx answers them at ~20 000 a second, far more than the burst (1000) plus 5000 a second.
    statuses: Counter[int] = Counter()
    refused = None
    for _ in range(10):
        codes, replies = pipelined_statuses(edge, ABUSIVE, "/nginx-healthz", 1000)
        # Every request answered: a refusal keeps the connection, like any other JSON error of the edge.
        assert len(codes) == 1000, Counter(codes)
        statuses.update(codes)
        refused = refused or next((reply for reply in replies if reply[0] == 429), None)
    assert set(statuses) == {200, 429}, statuses
    assert statuses[200] >= RATE_BURST and statuses[429] > 2000, statuses
    assert refused is not None
    _assert_too_many(refused)
    # Meanwhile the same route from another address is untouched.
    assert request_from(edge, ORDINARY, "GET", "/nginx-healthz").status == 200


def _wrk(url: str, bodies: Path, *, mode: str, connections: int = 128, seconds: int = 3) -> dict[str, int]:
    wrk = shutil.which("wrk")
    assert wrk, "wrk is missing: scripts/system-packages.sh installs it"
    arguments = [f"mode={mode}", f"bodies={bodies}", "seed=1", "cache=on", "host=localhost"]
    options = ["-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "20s", "-s", str(WRK_LUA)]
    done = subprocess.run(
        [wrk, *options, url, "--", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    measured = wrk_parse(done.stdout)
    assert measured.requests > 0 and not any(measured.socket_errors.values()), done.stdout
    return measured.statuses


def test_make_benchs_load_from_one_address_is_not_throttled(edge: Edge, tmp_path: Path) -> None:
    # What `make bench` does to the edge from 127.0.0.1: wrk with its own script (scripts/bench/wrk.lua) and
    # 128 keep-alive connections on each search, and on Nginx's fixed answer (~40 000 a second here).
    bodies = tmp_path / "bodies.tsv"
    bodies.write_text('1\tk\t{"part_name": "x"}\n')
    for path in SEARCHES:
        statuses = _wrk(f"http://127.0.0.1:{edge.port}{path}", bodies, mode="search")
        assert set(statuses) == {"200"}, (path, statuses)
    statuses = _wrk(f"http://127.0.0.1:{edge.port}/bench/fixed", bodies, mode="get")
    assert set(statuses) == {"200"}, statuses
