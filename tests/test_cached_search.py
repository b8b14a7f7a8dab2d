"""The Redis response cache of both searches, end to end: real servers, a real Redis with the stack's options,
real writes to PostgreSQL. Bodies are byte for byte what the uncached services answer; a write of any kind is
seen by the very next search; a dead or silent Redis costs the searches nothing but a log line."""

from __future__ import annotations

import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
import yaml

from tests.expected import Row, expected_search, load_rows
from tests.servers import ROOT, Postgres, Redis, Server, manage, running_redis, start_app, start_cache_redis
from tests.test_parity import random_request

SERVICES = ("django", "fastapi")
SEARCH = "/search/part/"
# Short enough that a test sees the breaker close again; production's default is 5 s.
BREAKER_SECONDS = 1
# A search on this small catalog takes milliseconds; a Redis that does not answer may add its 50 ms timeout.
QUICK_SECONDS = 1.0
CACHE_LOG_LINE = "search cache: "


def start_cached_apps(database_url: str, log_dir: Path, cache_env: dict[str, str], **extra: str) -> dict[str, Server]:
    env = {**cache_env, "SEARCH_CACHE_BREAKER_SECONDS": str(BREAKER_SECONDS), **extra}
    return {name: start_app(name, database_url, log_dir, extra_env=env) for name in SERVICES}


def stop_all(servers: dict[str, Server]) -> None:
    for server in servers.values():
        server.stop()


def post(server: Server, body: Any, **headers: str) -> httpx.Response:
    response = httpx.post(server.base_url + SEARCH, json=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response


def redis_client(server: Redis) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=server.port, password=server.password, decode_responses=True)


def cache_log_lines(server: Server, text: str) -> list[str]:
    return [line for line in server.log.read_text(errors="replace").splitlines() if CACHE_LOG_LINE + text in line]


@pytest.fixture(scope="module")
def cache_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    with running_redis(tmp_path_factory.mktemp("cache-redis"), cache=True) as server:
        yield server


@pytest.fixture(scope="module")
def cached(
    database_url: str, cache_redis: Redis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Server]]:
    """Both services with the cache on, over the session's catalog (these tests never write to it)."""
    servers = start_cached_apps(database_url, tmp_path_factory.mktemp("cached-logs"), cache_redis.cache_env())
    yield servers
    stop_all(servers)


def test_the_cache_redis_runs_with_the_stacks_memory_only_options(cache_redis: Redis) -> None:
    config = redis_client(cache_redis)
    assert config.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
    assert config.config_get("maxmemory") == {"maxmemory": str(64 * 1024 * 1024)}
    assert config.config_get("appendonly") == {"appendonly": "no"}
    assert config.config_get("save") == {"save": ""}


def test_the_stack_gives_the_cache_to_both_web_apps_and_keeps_it_off_the_broker() -> None:
    """stack.yml's wiring, checked without a swarm (the Swarm suite checks the running stack)."""
    stack = yaml.safe_load((ROOT / "stack.yml").read_text(encoding="utf-8"))
    services = stack["services"]
    for name in ("django-blue", "django-green", "fastapi-blue", "fastapi-green"):
        service = services[name]
        environment = service["environment"]
        assert environment["SEARCH_CACHE_REDIS_HOST"] == "redis-cache", name
        assert environment["SEARCH_CACHE_REDIS_PASSWORD_FILE"] == "/run/secrets/redis_cache_password", name  # noqa: S105 (a path)
        assert "redis_cache_password" in service["secrets"], name
        assert "cache" in service["networks"], name
    assert "redis" not in services["fastapi-blue"]["networks"], "FastAPI has no business with the broker"
    cache = services["redis-cache"]
    assert cache["image"] == services["redis"]["image"]
    assert cache["networks"] == ["cache"] and cache["secrets"] == ["redis_cache_password"]
    assert "volumes" not in cache
    assert stack["networks"]["cache"]["attachable"] is False
    assert stack["secrets"]["redis_cache_password"]["name"] == "${STACK_NAME:-partscat}_redis_cache_password"
    # Celery needs no cache: no password, no network.
    for name in ("celery-worker", "celery-beat"):
        assert "cache" not in services[name]["networks"] and "redis_cache_password" not in services[name]["secrets"]


@pytest.mark.parametrize("service", SERVICES)
def test_miss_then_hit_give_the_uncached_bytes(
    service: str, cached: dict[str, Server], django_client: httpx.Client, rows: list[Row]
) -> None:
    body = {"part_name": "бамп", "page": 2, "params": {"is_new_part": True}, "mark_list": [1, 2, 3, 4, 5]}
    uncached = django_client.post(SEARCH, json=body)
    first = post(cached[service], body)
    second = post(cached[service], body)
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    assert first.content == second.content == uncached.content
    assert first.headers["content-type"] == second.headers["content-type"] == "application/json"
    assert first.json() == expected_search(rows, body)


def test_bodies_are_byte_identical_with_the_cache_on_and_off(
    cached: dict[str, Server], django_client: httpx.Client, fastapi_client: httpx.Client, rows: list[Row]
) -> None:
    """The parity test's random requests: the cache-off services, and each cached service twice."""
    rng = random.Random(20261124)
    for _ in range(60):
        body = random_request(rng, rows)
        off = {"django": django_client.post(SEARCH, json=body), "fastapi": fastapi_client.post(SEARCH, json=body)}
        assert {response.headers["x-cache"] for response in off.values()} == {"OFF"}
        assert off["django"].content == off["fastapi"].content, body
        for service in SERVICES:
            first, second = post(cached[service], body), post(cached[service], body)
            # The first may already be a hit: the generator can repeat a request.
            assert first.headers["x-cache"] in ("MISS", "HIT")
            assert second.headers["x-cache"] == "HIT"
            assert first.content == second.content == off["django"].content, (service, body)
        assert off["django"].json() == expected_search(rows, body), body


@pytest.mark.parametrize("service", SERVICES)
def test_equal_requests_share_one_entry(service: str, cached: dict[str, Server]) -> None:
    first = post(cached[service], {"mark_list": [3, 1, 1], "part_name": "фильтр", "price_gte": 10.5, "page": 1})
    assert first.headers["x-cache"] == "MISS"
    for same in (
        {"page": 1, "price_gte": 11, "part_name": "фильтр", "mark_list": [1, 3]},
        {"part_name": "фильтр", "mark_list": [1, 3, 3], "price_gte": 10.01, "model_name": None, "params": {}},
    ):
        again = post(cached[service], same)
        assert again.headers["x-cache"] == "HIT", same
        assert again.content == first.content


@pytest.mark.parametrize("service", SERVICES)
def test_texts_are_not_case_folded_into_one_entry(service: str, cached: dict[str, Server]) -> None:
    # PostgreSQL finds the same parts for both, but the key keeps the text as sent (see search_cache_key).
    lower = post(cached[service], {"mark_name": "hOnDa", "params": {"color": "бЕлЫй"}})
    upper = post(cached[service], {"mark_name": "HONDA", "params": {"color": "бЕлЫй"}})
    assert lower.headers["x-cache"] == upper.headers["x-cache"] == "MISS"
    assert lower.content == upper.content


@pytest.mark.parametrize("service", SERVICES)
def test_entries_are_keyed_by_catalog_version_and_service_and_expire(
    service: str, cached: dict[str, Server], cache_redis: Redis, database_url: str
) -> None:
    body = {"model_name": "Camry", "page": 3}
    post(cached[service], body)
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT version FROM catalog_version").fetchone()
    assert row is not None
    keys = [str(k) for k in redis_client(cache_redis).keys(f"partscat:search:v{row[0]}:{service}:*")]
    assert keys, "no entry under the current catalog version"
    assert all(re.fullmatch(rf"partscat:search:v{row[0]}:{service}:[0-9a-f]{{64}}", k) for k in keys)
    assert all(0 < redis_client(cache_redis).ttl(k) <= 300 for k in keys)


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("cache_control", ["no-cache", "no-store", "max-age=0, No-Cache"])
def test_cache_control_no_cache_bypasses_the_cache(
    service: str, cache_control: str, cached: dict[str, Server], cache_redis: Redis
) -> None:
    body = {"part_name": f"bypass {cache_control}", "params": {"count": 3}}
    stored = redis_client(cache_redis).dbsize()
    bypassed = post(cached[service], body, **{"Cache-Control": cache_control})
    assert bypassed.headers["x-cache"] == "BYPASS"
    assert redis_client(cache_redis).dbsize() == stored, "a bypassing request stored an entry"
    # Nothing was stored, so the next ordinary request misses; it then stores, and a bypass still skips it.
    assert post(cached[service], body).headers["x-cache"] == "MISS"
    assert post(cached[service], body, **{"Cache-Control": cache_control}).headers["x-cache"] == "BYPASS"
    assert post(cached[service], body).headers["x-cache"] == "HIT"


def test_services_without_a_cache_redis_answer_off(django_client: httpx.Client, fastapi_client: httpx.Client) -> None:
    for client in (django_client, fastapi_client):
        response = client.post(SEARCH, json={"page": 1})
        assert response.headers["x-cache"] == "OFF"


def test_search_cache_off_in_the_environment_turns_it_off(
    database_url: str, tmp_path: Path, django_client: httpx.Client
) -> None:
    redis_server = start_cache_redis(tmp_path)
    servers = start_cached_apps(
        database_url, tmp_path, redis_server.cache_env(), SEARCH_CACHE="off", WEB_CONCURRENCY="1"
    )
    try:
        body = {"producer_country_name": "Германия"}
        for server in servers.values():
            answers = [post(server, body), post(server, body)]
            assert [answer.headers["x-cache"] for answer in answers] == ["OFF", "OFF"]
            assert all(answer.content == django_client.post(SEARCH, json=body).content for answer in answers)
        assert redis_client(redis_server).dbsize() == 0
    finally:
        stop_all(servers)
        redis_server.stop()


# WRITES: on a catalog of their own, so the session's catalog (and the rows other tests expect) stays as it is.


@pytest.fixture(scope="module")
def writable(postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Server]]]:
    url = postgres.catalog_create("cache_writes", parts=60, seed=11)
    redis_server = start_cache_redis(tmp_path_factory.mktemp("writes-redis"))
    servers = start_cached_apps(
        url, tmp_path_factory.mktemp("writes-logs"), redis_server.cache_env(), WEB_CONCURRENCY="1"
    )
    try:
        yield url, servers
    finally:
        stop_all(servers)
        redis_server.stop()
        postgres.database_drop("cache_writes")


FIRST_PAGE: dict[str, Any] = {}


def first_visible_part(url: str) -> Row:
    return next(row for row in load_rows(url) if row.is_visible)


def assert_hit_then_fresh_after(url: str, servers: dict[str, Server], write: Any) -> None:
    """Each service answers from the cache before the write and the write's result right after it."""
    for server in servers.values():
        post(server, FIRST_PAGE)
        assert post(server, FIRST_PAGE).headers["x-cache"] == "HIT"
    write()
    expected = expected_search(load_rows(url), FIRST_PAGE)
    for name, server in servers.items():
        after = post(server, FIRST_PAGE)
        assert after.headers["x-cache"] == "MISS", name
        assert after.json() == expected, name
        assert post(server, FIRST_PAGE).headers["x-cache"] == "HIT"


def test_an_orm_write_is_seen_by_the_very_next_search(writable: tuple[str, dict[str, Server]]) -> None:
    url, servers = writable
    part = first_visible_part(url)
    update = f"from catalog.models import Part; p = Part.objects.get(pk={part.id}); p.price += 7; p.save()"
    assert_hit_then_fresh_after(url, servers, lambda: manage(url, "shell", "--command", update))
    assert first_visible_part(url).price == part.price + 7


def test_a_raw_sql_price_update_is_seen_by_the_very_next_search(writable: tuple[str, dict[str, Server]]) -> None:
    url, servers = writable
    part = first_visible_part(url)

    def update() -> None:
        with psycopg.connect(url) as conn:  # the apps' role, as a job or a price sync would write
            conn.execute("UPDATE part SET price = price + 11 WHERE id = %s", (part.id,))

    assert_hit_then_fresh_after(url, servers, update)
    assert first_visible_part(url).price == part.price + 11


def test_seeding_and_a_renamed_mark_are_seen_by_the_very_next_search(writable: tuple[str, dict[str, Server]]) -> None:
    url, servers = writable
    before = len([row for row in load_rows(url) if row.is_visible])
    assert_hit_then_fresh_after(url, servers, lambda: manage(url, "seed_parts", "--parts", "3", "--seed", "12"))
    part = first_visible_part(url)
    rename = f"from catalog.models import Mark; Mark.objects.filter(pk={part.mark_id}).update(name='Renamed')"
    assert_hit_then_fresh_after(url, servers, lambda: manage(url, "shell", "--command", rename))
    assert post(servers["django"], FIRST_PAGE).json()["count"] == before + 3


# REDIS FAILURES: searches answer from PostgreSQL, quickly, and the failure is logged once, not per request.


def test_a_dead_redis_costs_nothing_is_logged_once_and_is_used_again_when_back(
    database_url: str, tmp_path: Path, django_client: httpx.Client
) -> None:
    redis_server = start_cache_redis(tmp_path)
    servers = start_cached_apps(database_url, tmp_path, redis_server.cache_env(), WEB_CONCURRENCY="1")
    body = {"params": {"color": "черный"}, "page": 2}
    expected = django_client.post(SEARCH, json=body).content
    try:
        for server in servers.values():
            post(server, body)
            assert post(server, body).headers["x-cache"] == "HIT"
        redis_server.kill()
        for _ in range(3 * BREAKER_SECONDS * 10):
            for name, server in servers.items():
                started = time.monotonic()
                answer = post(server, body)
                assert time.monotonic() - started < QUICK_SECONDS, name
                assert answer.content == expected, name
                assert answer.headers["x-cache"] == "MISS", name
            time.sleep(0.1)
        for name, server in servers.items():
            # Several breaker periods went by with Redis dead: one line per process (rate-limited).
            assert len(cache_log_lines(server, "Redis GET failed")) == 1, (name, server.log.read_text()[-2000:])

        revived = start_cache_redis(tmp_path, port=redis_server.port, password=redis_server.password)
        try:
            time.sleep(BREAKER_SECONDS + 0.2)
            for name, server in servers.items():
                assert post(server, body).headers["x-cache"] == "MISS", name  # a new, empty Redis
                assert post(server, body).headers["x-cache"] == "HIT", name
                assert cache_log_lines(server, "Redis answers again"), name
        finally:
            revived.stop()
    finally:
        stop_all(servers)
        if redis_server.process.poll() is None:
            redis_server.stop()


class SilentRedis:
    """Accepts TCP connections and never sends a byte: a hung Redis, or a wrong address that swallows traffic."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = int(self.listener.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.accepted.append(connection)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        for connection in self.accepted:
            connection.close()
        self.listener.close()


def test_a_redis_that_never_answers_does_not_slow_searches(
    database_url: str, tmp_path: Path, django_client: httpx.Client
) -> None:
    silent = SilentRedis()
    password_file = tmp_path / "password"
    password_file.write_text("never-checked")
    cache_env = {
        "SEARCH_CACHE_REDIS_HOST": "127.0.0.1",
        "SEARCH_CACHE_REDIS_PORT": str(silent.port),
        "SEARCH_CACHE_REDIS_PASSWORD_FILE": str(password_file),
    }
    servers = start_cached_apps(database_url, tmp_path, cache_env, WEB_CONCURRENCY="1")
    body = {"part_name": "фара", "price_lte": 50_000}
    expected = django_client.post(SEARCH, json=body).content
    try:
        for round_number in range(3):
            for name, server in servers.items():
                for _ in range(5):
                    started = time.monotonic()
                    answer = post(server, body)
                    assert time.monotonic() - started < QUICK_SECONDS, (name, round_number)
                    assert answer.content == expected
                    assert answer.headers["x-cache"] == "MISS"
            # Past the breaker's period, the next search tries Redis again: bounded by the timeout again.
            time.sleep(BREAKER_SECONDS + 0.1)
        assert silent.accepted, "the services never tried the silent Redis"
        for name, server in servers.items():
            assert len(cache_log_lines(server, "Redis GET failed")) == 1, (name, server.log.read_text()[-2000:])
            assert "Timeout" in cache_log_lines(server, "Redis GET failed")[0], name
    finally:
        stop_all(servers)
        silent.close()
