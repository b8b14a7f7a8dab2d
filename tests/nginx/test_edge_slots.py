"""A search holds its admission slot (nginx/lua/admission.lua) only while an app works on it, and one client's
searches cannot keep another's out of the queue. Issue 16, part 2: "Slots" and the queue's fair share.

The edge runs the shipped nginx.conf with the shipped admission settings (4 searches at once per Django task,
8 per FastAPI task, a 2 s queue: admission.lua's defaults, which stack.yml repeats). Clients tell themselves
apart by their loopback source address (tests/nginx/edge_clients.py).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.nginx.edge_clients import (
    ABUSIVE,
    ABUSIVE_TOO,
    JSON,
    ORDINARY,
    Timed,
    connect_from,
    request_from,
    request_head,
    sized_backend,
    trickling,
)
from tests.nginx.edge_server import Edge, running_edge

SEARCHES = ["/search/part/", "/fastapi/search/part/"]
# The attack: 32 sockets from one address, 12 on Django's search and 20 on FastAPI's, each more than
# the service's slots (4 and 8 with one task each here).
TRICKLERS = {"/search/part/": 12, "/fastapi/search/part/": 20}
# An ordinary search through an idle edge to the echo backend takes a few milliseconds; this leaves room for a
# loaded test machine and is far below the 2 s a search waits before it is shed.
ORDINARY_BOUND_S = 0.6


@pytest.fixture(scope="module")
def backend_port() -> Iterator[int]:
    with sized_backend() as port:
        yield port


@pytest.fixture(scope="module")
def edge(backend_port: int) -> Iterator[Edge]:
    with running_edge() as running:
        running.push_peers(django_blue=[backend_port], fastapi_blue=[backend_port])
        yield running


def _in_flight(edge: Edge) -> dict[str, int]:
    return {service: count for service, count in edge.state()["inflight"].items() if count}


def _ordinary_searches(edge: Edge, rounds: int = 3) -> list[tuple[str, Timed]]:
    return [(path, request_from(edge, ORDINARY, "POST", path, b"{}", JSON)) for _ in range(rounds) for path in SEARCHES]


def _assert_served_promptly(searches: list[tuple[str, Timed]]) -> None:
    slow = [(path, t.status, round(t.seconds, 2), t.reply[2][:120]) for path, t in searches]
    assert all(t.status == 200 and t.seconds < ORDINARY_BOUND_S for _path, t in searches), slow


def test_trickling_search_bodies_hold_no_slot(edge: Edge) -> None:
    # One body byte a second: below every body timeout, so Nginx keeps reading these for minutes.
    with trickling(edge, ABUSIVE, TRICKLERS, every=1.0) as tricklers:
        time.sleep(0.5)
        _assert_served_promptly(_ordinary_searches(edge))
        assert _in_flight(edge) == {}
        # Still there, still trickling: the searches above got through beside them, not after them.
        assert tricklers.open_count() == sum(TRICKLERS.values()), tricklers.answered[:3]


def test_a_search_body_that_stalls_is_dropped_after_the_search_routes_short_timeout(edge: Edge) -> None:
    # nginx.conf: 5 s between two reads of a search body (20 s on the other routes).
    started = time.monotonic()
    with connect_from(edge, ABUSIVE, timeout=30) as sock:
        sock.sendall(request_head("POST", "/search/part/", length=100, headers=JSON) + b"{")
        try:
            answer = sock.recv(65536)
        except ConnectionResetError:
            answer = b""  # reset_timedout_connection
    elapsed = time.monotonic() - started
    assert 4.5 < elapsed < 8, elapsed
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer[:200]


def test_a_client_that_reads_no_answer_holds_no_slot(edge: Edge) -> None:
    # A search whose answer is large (6 MiB: more than the kernel's socket buffers take) and a client that never
    # reads it: the app has answered, and the slot must come back then, not when the client has read it all
    # (send_timeout: 30 s). More such clients than Django's 4 and FastAPI's 8 slots.
    sockets = []
    try:
        for path, count in (("/search/part/", 6), ("/fastapi/search/part/", 10)):
            for _ in range(count):
                sock = connect_from(edge, ABUSIVE, receive_buffer=4096)
                sock.sendall(request_head("POST", f"{path}?size={6 << 20}", length=2, headers=JSON) + b"{}")
                sockets.append(sock)
        time.sleep(1.5)  # the app answered every one of them long ago
        _assert_served_promptly(_ordinary_searches(edge))
        assert _in_flight(edge) == {}
    finally:
        for sock in sockets:
            sock.close()


def _burst(edge: Edge, source: str, count: int, path: str) -> list[Timed]:
    replies: list[Timed] = []

    def one() -> None:
        replies.append(request_from(edge, source, "POST", path, b"{}", JSON, timeout=30))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return replies


def test_one_clients_burst_does_not_push_another_clients_search_out_of_the_queue(edge: Edge) -> None:
    # 40 searches at once from one address, each 0.5 s of app work: 5 s of work for Django's 4 slots, more than
    # the 2 s queue. In arrival order alone, a search that comes after them waits behind all of them and is
    # shed. With a fair share it waits for the first slot that frees up: about 0.5 s.
    burst: list[Timed] = []
    flood = threading.Thread(target=lambda: burst.extend(_burst(edge, ABUSIVE, 40, "/search/part/?sleep=0.5")))
    flood.start()
    time.sleep(0.3)
    try:
        ordinary = request_from(edge, ORDINARY, "POST", "/search/part/", b"{}", JSON)
    finally:
        flood.join()
    assert ordinary.status == 200, ordinary.reply
    assert ordinary.seconds < 0.5 + ORDINARY_BOUND_S, ordinary.seconds
    # The burst itself was served while the queue held it, the rest shed with the apps' 503 (not lost).
    statuses = Counter(t.status for t in burst)
    assert set(statuses) <= {200, 503} and statuses[200] >= 8, statuses
    assert _in_flight(edge) == {}


def test_two_bursting_clients_share_the_slots(edge: Edge) -> None:
    # Two addresses with 16 searches each, side by side: each gets about half of what was served.
    results: dict[str, list[Timed]] = {}
    threads = [
        threading.Thread(target=lambda s=source: results.setdefault(s, _burst(edge, s, 16, "/search/part/?sleep=0.3")))
        for source in (ABUSIVE, ABUSIVE_TOO)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    served = {source: sum(1 for t in replies if t.status == 200) for source, replies in results.items()}
    assert min(served.values()) >= max(served.values()) // 2, served
    assert _in_flight(edge) == {}
