"""Canary routing and the per-colour figures at the edge (lua/edge.lua, lua/edge_metrics.lua), in the shipped
nginx.conf on loopback: blue is live on one backend, green (the candidate) on the other.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
import zlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.nginx.edge_server import Edge, echo_backends, running_edge

USERS = [f"user-{number}" for number in range(200)]


@pytest.fixture(scope="module")
def edge(watcher_control: ModuleType) -> Iterator[tuple[Edge, int, int]]:
    patch = pytest.MonkeyPatch()
    with echo_backends(2) as (blue, green), running_edge() as running:
        patch.setattr(watcher_control, "CONTROL_ADDRESS", ("127.0.0.1", running.control_port))
        try:
            yield running, blue, green
        finally:
            patch.undo()


@pytest.fixture
def colours(edge: tuple[Edge, int, int], watcher_control: ModuleType) -> Iterator[tuple[Edge, int, int]]:
    """Blue live, both colours in rotation, no canary; the canary is cleared again afterwards."""
    running, blue, green = edge
    running.push_peers(django_blue=[blue], fastapi_blue=[blue], django_green=[green], fastapi_green=[green])
    watcher_control.control_request("POST", "/edge/live", "blue")
    watcher_control.control_request("POST", "/edge/canary", "0")
    yield edge
    watcher_control.control_request("POST", "/edge/canary", "0")


def _served_by(running: Edge, path: str, *, user: str | None = None, canary: str | None = None) -> int:
    headers = {"Cookie": f"theme=dark; partscat_user={user}"} if user else {}
    if canary:
        headers["X-Canary"] = canary
    status, _headers, body = running.request("GET", path, headers=headers)
    assert status == 200, body
    return int(json.loads(body)["backend"])


def _bucket(user: str) -> int:
    """What lua/edge.lua computes: ngx.crc32_long is the standard CRC-32, as zlib's."""
    return zlib.crc32(user.encode()) % 100


def test_a_share_of_users_goes_to_the_candidate_and_each_stays_where_it_went(
    colours: tuple[Edge, int, int], watcher: ModuleType, watcher_control: ModuleType
) -> None:
    running, blue, green = colours
    assert {_served_by(running, "/mark/", user=user) for user in USERS[:20]} == {blue}
    assert watcher.canary_set(["25"]) == 0
    chosen = {user: _served_by(running, "/mark/", user=user) for user in USERS}
    assert chosen == {user: green if _bucket(user) < 25 else blue for user in USERS}
    assert 25 <= sum(port == green for port in chosen.values()) <= 75, "the share is far from 25 %"
    # The same users again, on both apps and the search: nobody flips between versions.
    for user in USERS[:50]:
        assert _served_by(running, "/fastapi/items", user=user) == chosen[user]
    # A larger share keeps everyone who was on the candidate there.
    watcher_control.control_request("POST", "/edge/canary", "50")
    for user in USERS:
        if chosen[user] == green:
            assert _served_by(running, "/mark/", user=user) == green
    # Without the cookie, the client's address decides (the same for every request from it).
    assert len({_served_by(running, "/mark/") for _ in range(10)}) == 1


def test_the_allowlist_always_reaches_the_candidate_and_others_follow_their_cookie(
    colours: tuple[Edge, int, int], watcher: ModuleType
) -> None:
    running, blue, green = colours
    assert watcher.canary_set(["0", "team-qa", "release.bot"]) == 0
    outside = next(user for user in USERS if _bucket(user) >= 10)
    assert _served_by(running, "/mark/", user=outside, canary="team-qa") == green
    assert _served_by(running, "/search/part/", canary="release.bot") == green
    assert _served_by(running, "/mark/", user=outside, canary="team") == blue
    assert _served_by(running, "/mark/", user=outside) == blue
    state = running.state()
    assert state["canary"] == {"percent": 0, "allow": ["team-qa", "release.bot"]}


def test_a_candidate_without_a_task_in_rotation_gets_nobody(
    colours: tuple[Edge, int, int], watcher_control: ModuleType
) -> None:
    running, blue, _green = colours
    running.push_peers(django_green=[], fastapi_green=[])
    watcher_control.control_request("POST", "/edge/canary", "100 team-qa")
    assert _served_by(running, "/mark/", user=USERS[0], canary="team-qa") == blue


def test_a_bad_share_or_allowlist_is_refused_and_changes_nothing(
    colours: tuple[Edge, int, int], watcher: ModuleType, watcher_control: ModuleType
) -> None:
    running, _blue, _green = colours
    watcher_control.control_request("POST", "/edge/canary", "5 team-qa")
    for body in ("101", "-1", "five", "5 bad;value", ""):
        with pytest.raises(RuntimeError, match="answered 400"):
            watcher_control.control_request("POST", "/edge/canary", body)
    assert running.state()["canary"] == {"percent": 5, "allow": ["team-qa"]}
    assert watcher.canary_set(["250"]) == 1


Figures = dict[str, dict[str, dict[str, Any]]]


def _metrics(watcher_control: ModuleType) -> Figures:
    return dict(json.loads(watcher_control.control_request("GET", "/edge/metrics"))["colours"])


def _metrics_after(watcher_control: ModuleType, before: Figures, expected: dict[tuple[str, str], int]) -> Figures:
    """The figures once each (colour, route) in EXPECTED has counted that many more requests. The log phase,
    which counts, runs after the answer has gone: a client that asks the control port at once can be quicker
    (a test once read none of them). Each route is waited for on its own: a total can be reached early by a
    request of an earlier test whose log phase ran late (CI once read the figures before the one request a
    test made had been counted)."""
    deadline = time.monotonic() + 5
    while True:
        figures = _metrics(watcher_control)
        counted = all(
            _count(figures, colour, route, "requests") - _count(before, colour, route, "requests") >= requests
            for (colour, route), requests in expected.items()
        )
        if counted or time.monotonic() > deadline:
            return figures
        time.sleep(0.05)


def _count(figures: Figures, colour: str, route: str, name: str) -> int:
    return int(figures.get(colour, {}).get(route, {}).get(name, 0))


def test_the_figures_are_counted_per_colour_and_route_and_scraped_as_prometheus_text(
    colours: tuple[Edge, int, int], watcher_control: ModuleType
) -> None:
    running, _blue, _green = colours
    before = _metrics(watcher_control)
    watcher_control.control_request("POST", "/edge/canary", "0 team-qa")
    for _ in range(3):
        running.request("GET", "/mark/?status=500")
    running.request("GET", "/mark/?sleep=0.3", headers={"X-Canary": "team-qa"})
    status, _headers, _body = running.request("POST", "/search/part/", b"{}", {"Content-Type": "application/json"})
    assert status == 200
    running.request("GET", "/fastapi/items")
    running.request("GET", "/nginx-healthz")  # no colour: not counted
    after = _metrics_after(
        watcher_control,
        before,
        {("blue", "django"): 3, ("green", "django"): 1, ("blue", "django-search"): 1, ("blue", "fastapi"): 1},
    )

    def delta(colour: str, route: str, name: str) -> int:
        return _count(after, colour, route, name) - _count(before, colour, route, name)

    assert delta("blue", "django", "requests") == 3
    assert delta("blue", "django", "5xx") == 3
    assert delta("green", "django", "requests") == 1
    assert delta("green", "django", "5xx") == 0
    assert delta("blue", "django-search", "requests") == 1
    assert delta("blue", "fastapi", "requests") == 1
    # The slow one is in a bucket of 300 ms and over.
    buckets_ms = json.loads(watcher_control.control_request("GET", "/edge/metrics"))["buckets_ms"]
    then = before.get("green", {}).get("django", {}).get("buckets") or [0] * (len(buckets_ms) + 1)
    green_buckets = [now - old for now, old in zip(after["green"]["django"]["buckets"], then, strict=True)]
    slow = green_buckets.index(1)
    assert slow == len(buckets_ms) or buckets_ms[slow] >= 300

    connection = http.client.HTTPConnection("127.0.0.1", running.metrics_port, timeout=10)
    connection.request("GET", "/metrics")
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("text/plain; version=0.0.4")
    line = re.search(r'^partscat_edge_responses_5xx_total\{colour="blue",route="django"\} (\d+)$', text, re.M)
    assert line is not None and int(line.group(1)) == _count(after, "blue", "django", "5xx")
    count = re.search(
        r'^partscat_edge_request_duration_seconds_count\{colour="green",route="django"\} (\d+)$', text, re.M
    )
    infinite = re.search(
        r'^partscat_edge_request_duration_seconds_bucket\{colour="green",route="django",le="\+Inf"\} (\d+)$', text, re.M
    )
    assert count is not None and infinite is not None and count.group(1) == infinite.group(1)


def test_a_task_that_refuses_connections_counts_as_the_edges_failure(
    colours: tuple[Edge, int, int], watcher_control: ModuleType
) -> None:
    running, _blue, green = colours
    # A port bound and not listening refuses connections, and nothing else can take it meanwhile.
    with socket.socket() as refusing:
        refusing.bind(("127.0.0.1", 0))
        running.push_peers(django_green=[refusing.getsockname()[1]])
        before = _metrics(watcher_control)
        watcher_control.control_request("POST", "/edge/canary", "0 team-qa")
        status, _headers, _body = running.request("GET", "/mark/", headers={"X-Canary": "team-qa"})
        after = _metrics_after(watcher_control, before, {("green", "django"): 1})
    running.push_peers(django_green=[green])
    logged = running.access_log().splitlines()[-1]
    assert status == 502, logged
    assert _count(after, "green", "django", "5xx") - _count(before, "green", "django", "5xx") == 1, logged
    edge_failures = _count(after, "green", "django", "edge_failures") - _count(
        before, "green", "django", "edge_failures"
    )
    assert edge_failures == 1, logged


def test_the_canary_share_a_new_task_starts_with_comes_from_its_environment(watcher_settings: ModuleType) -> None:
    """CANARY_PERCENT and CANARY_ALLOW, which stack.yml fills from the nginx service's labels; the seed that
    carries them into a new Nginx is tested in test_socket_handover.py."""
    assert watcher_settings.canary_load({"CANARY_PERCENT": "25"}) == "25"
    assert watcher_settings.canary_load({"CANARY_PERCENT": "", "CANARY_ALLOW": "a, b"}) == "0 a b"
    with pytest.raises(watcher_settings.SettingsError, match="0-100"):
        watcher_settings.canary_load({"CANARY_PERCENT": "120"})


def test_a_switch_ends_the_canary_in_the_same_step(
    colours: tuple[Edge, int, int], watcher: ModuleType, watcher_control: ModuleType
) -> None:
    running, blue, green = colours
    watcher_control.control_request("POST", "/edge/canary", "50 team-qa")
    assert watcher.live_switch("green") == 0
    assert running.state()["canary"] == {"percent": 0, "allow": []}
    # Everyone on green now: no share, no allowlist left pointing at blue.
    assert {_served_by(running, "/mark/", user=user) for user in USERS[:40]} == {green}
    assert _served_by(running, "/mark/", canary="team-qa") == green
    watcher_control.control_request("POST", "/edge/canary", "50")
    assert watcher.live_switch("green") == 0  # the same colour again: still everyone on it
    assert running.state()["canary"]["percent"] == 0
    watcher_control.control_request("POST", "/edge/live", "blue")
    assert _served_by(running, "/mark/", user=USERS[0]) == blue
