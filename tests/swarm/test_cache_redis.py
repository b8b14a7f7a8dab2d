"""The search response cache in the running stack: its own memory-only, evicting Redis beside the broker (which
keeps everything), both searches answering from it through Nginx, and a write seen by the next search."""

from __future__ import annotations

import json
import time

import pytest

from tests.swarm.harness import docker, http_call, operator_headers, postgres_sql, service_containers

pytestmark = pytest.mark.swarm

SEARCHES = ["/search/part/", "/fastapi/search/part/"]


def _redis_config(service: str, secret: str, name: str) -> str:
    """One CONFIG GET value, asked inside the task with its own password (REDISCLI_AUTH, never argv)."""
    containers = service_containers(service)
    assert containers, f"no running {service} task on this node"
    command = 'REDISCLI_AUTH="$(cat "/run/secrets/$1")" exec redis-cli -h 127.0.0.1 CONFIG GET "$2"'
    out = docker("exec", containers[0], "sh", "-c", command, "sh", secret, name)
    lines = out.split("\n")
    assert lines[0] == name, out
    return lines[1]


def test_the_cache_redis_is_memory_only_and_evicts_while_the_broker_keeps_everything(swarm_stack: str) -> None:
    cache = {
        name: _redis_config("redis-cache", "redis_cache_password", name)
        for name in ("maxmemory-policy", "maxmemory", "appendonly", "save")
    }
    assert cache == {
        "maxmemory-policy": "allkeys-lru",
        "maxmemory": str(64 * 1024 * 1024),
        "appendonly": "no",
        "save": "",
    }
    broker = {name: _redis_config("redis", "redis_password", name) for name in ("maxmemory-policy", "appendonly")}
    assert broker == {"maxmemory-policy": "noeviction", "appendonly": "yes"}


@pytest.mark.parametrize("path", SEARCHES)
def test_a_repeated_search_is_a_hit_with_the_same_bytes(swarm_stack: str, path: str) -> None:
    # A request nobody has sent before in this stack's life.
    body = {"part_name": f"cache-{time.time_ns()}", "page": 2}
    first, second = http_call("POST", path, body), http_call("POST", path, body)
    assert (first.status, second.status) == (200, 200), first.body[:300]
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    assert first.body == second.body
    # Only an operator may skip the cache; the public's no-cache is dropped at the edge.
    public = http_call("POST", path, body, headers={"Cache-Control": "no-cache"})
    assert public.headers["x-cache"] == "HIT"
    bypassed = http_call("POST", path, body, headers={"Cache-Control": "no-cache", **operator_headers()})
    assert bypassed.headers["x-cache"] == "BYPASS"
    assert bypassed.body == first.body


def test_both_searches_agree_from_the_cache(swarm_stack: str) -> None:
    body = {"part_name": "БАМП", "page": 1}
    replies = {path: [http_call("POST", path, body), http_call("POST", path, body)] for path in SEARCHES}
    bodies = {reply.body for pair in replies.values() for reply in pair}
    assert len(bodies) == 1
    assert all(pair[1].headers["x-cache"] == "HIT" for pair in replies.values())


@pytest.mark.parametrize("path", SEARCHES)
def test_a_write_is_seen_by_the_very_next_search(swarm_stack: str, path: str) -> None:
    part_id, price = postgres_sql("SELECT id, price FROM part WHERE is_visible ORDER BY id LIMIT 1").split("|")
    body: dict[str, object] = {}  # the first page holds that part
    http_call("POST", path, body)
    assert http_call("POST", path, body).headers["x-cache"] == "HIT"
    postgres_sql("UPDATE part SET price = price + 1 WHERE id = :'id'", id=part_id)
    try:
        after = http_call("POST", path, body)
        assert after.headers["x-cache"] == "MISS"
        page = json.loads(after.body)
        assert next(part["price"] for part in page["response"] if part["id"] == int(part_id)) == int(price) + 1
    finally:
        postgres_sql("UPDATE part SET price = price - 1 WHERE id = :'id'", id=part_id)
