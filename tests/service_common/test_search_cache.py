"""The cache decisions both services share: the key, the bypass rule, the breaker, the settings and the order of
the calls (cached_search, run here with a plain in-memory driver)."""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path

import pytest

from search_contract import parse_search_request
from service_common.environment import InvalidSetting, SearchCacheSettings
from service_common.search_cache import (
    CacheBreaker,
    CacheStatus,
    Call,
    RedisGet,
    RedisPut,
    Reply,
    Request,
    SearchCachePolicy,
    cache_bypassed,
    cached_search,
    drive,
    search_cache_key,
)


def key(body: bytes, *, version: int = 7, service: str = "django") -> str:
    return search_cache_key(filters=parse_search_request(body), catalog_version=version, service=service)


def test_the_key_names_the_version_and_the_service_and_hashes_the_rest() -> None:
    assert re.fullmatch(r"partscat:search:v7:django:[0-9a-f]{64}", key(b"{}"))
    assert key(b"{}", version=8) != key(b"{}", version=7)
    assert key(b"{}", service="fastapi") != key(b"{}")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # Key order.
        (
            b'{"mark_name": "Honda", "part_name": "x", "page": 2}',
            b'{"page": 2, "part_name": "x", "mark_name": "Honda"}',
        ),
        # Id lists mean "any of": order and repeats do not matter.
        (b'{"mark_list": [3, 1, 2]}', b'{"mark_list": [1, 2, 3, 3, 1]}'),
        (b'{"model_list": [9, 4]}', b'{"model_list": [4, 9]}'),
        # null is "not given"; the page defaults to 1.
        (b'{"mark_name": null, "params": {"color": null}}', b"{}"),
        (b'{"page": 1}', b"{}"),
        (b'{"params": {}}', b"{}"),
        # Prices are integers: the parser rounds the bounds inwards before the key is made.
        (b'{"price_gte": 10.2, "price_lte": 20.9}', b'{"price_gte": 11, "price_lte": 20}'),
        (b'{"params": {"is_new_part": true, "color": "red"}}', b'{"params": {"color": "red", "is_new_part": true}}'),
    ],
)
def test_equal_requests_share_a_key(first: bytes, second: bytes) -> None:
    assert key(first) == key(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # Texts are kept as sent: PostgreSQL decides what case-insensitive means, not Python.
        (b'{"mark_name": "Honda"}', b'{"mark_name": "HONDA"}'),
        # str.upper("\xdf") is "SS" in Python; PostgreSQL's upper() keeps it.
        ('{"part_name": "\u00df"}'.encode(), b'{"part_name": "SS"}'),
        (b'{"part_name": " x"}', b'{"part_name": "x"}'),
        # An empty list matches nothing; no list matches everything.
        (b'{"mark_list": []}', b"{}"),
        (b'{"mark_list": [1]}', b'{"model_list": [1]}'),
        (b'{"params": {"count": 1}}', b'{"params": {"is_new_part": true}}'),
        (b'{"page": 2}', b"{}"),
        (b'{"price_gte": 0}', b"{}"),
    ],
)
def test_different_requests_get_different_keys(first: bytes, second: bytes) -> None:
    assert key(first) != key(second)


@pytest.mark.parametrize(
    ("header", "bypassed"),
    [
        (None, False),
        ("", False),
        ("max-age=0", False),
        ("no-cache", True),
        ("no-store", True),
        ("No-Cache", True),
        ("max-age=0, no-cache", True),
        ("private, no-store , must-revalidate", True),
        ('no-cache="set-cookie"', True),
        ("no-transform", False),
    ],
)
def test_cache_control_bypass(header: str | None, bypassed: bool) -> None:
    assert cache_bypassed(header) is bypassed


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_on_failures_in_a_row_and_then_on_one_failure_after_its_period() -> None:
    clock = Clock()
    breaker = CacheBreaker(open_seconds=5, failures_to_open=3, logger=logging.getLogger("test.breaker"), clock=clock)
    assert breaker.closed()
    # Two slow replies and a success between them: nothing opens (a loaded machine, not a dead Redis).
    breaker.failed(TimeoutError("timed out"), doing="Redis GET")
    breaker.failed(TimeoutError("timed out"), doing="Redis SET")
    breaker.succeeded()
    breaker.failed(TimeoutError("timed out"), doing="Redis GET")
    assert breaker.closed()
    breaker.failed(ConnectionError("refused"), doing="Redis GET")
    assert breaker.closed()
    breaker.failed(ConnectionError("refused"), doing="Redis GET")
    assert not breaker.closed()
    clock.now += 4.9
    assert not breaker.closed()
    clock.now += 0.1
    assert breaker.closed()
    # A failure of the trial request opens it again for a whole period.
    breaker.failed(TimeoutError("timed out"), doing="Redis GET")
    clock.now += 4.9
    assert not breaker.closed()
    # Once Redis answers again, it takes failures in a row again.
    clock.now += 0.1
    breaker.succeeded()
    breaker.failed(TimeoutError("timed out"), doing="Redis GET")
    assert breaker.closed()


def test_the_breaker_reports_failures_at_most_once_a_period_and_the_recovery_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    logger = logging.getLogger("test.breaker.log")
    breaker = CacheBreaker(open_seconds=1, failures_to_open=1, log_every_seconds=60, logger=logger, clock=clock)
    with caplog.at_level(logging.WARNING, logger="test.breaker.log"):
        for _ in range(100):
            breaker.failed(ConnectionError("refused"), doing="Redis GET")
            clock.now += 0.5
        assert len(caplog.records) == 1
        assert "Redis GET failed (ConnectionError: refused)" in caplog.records[0].getMessage()
        clock.now += 60
        breaker.failed(ConnectionError("refused"), doing="Redis SET")
        assert len(caplog.records) == 2
        # The second report counts what the first period did not report.
        assert "(100 failure(s) since the last report)" in caplog.records[1].getMessage()
        breaker.succeeded()
        breaker.succeeded()
        assert [record.getMessage() for record in caplog.records[2:]] == ["search cache: Redis answers again"]


def cache_settings(**overrides: object) -> SearchCacheSettings:
    values: dict[str, object] = {
        "enabled": True,
        "host": "127.0.0.1",
        "port": 6379,
        "password": "",
        "ttl_seconds": 300,
        "timeout_s": 0.05,
        "breaker_seconds": 5,
        "breaker_failures": 3,
    }
    return SearchCacheSettings(**{**values, **overrides})  # type: ignore[arg-type]


def test_the_policy_decides_off_bypass_and_open_breaker_before_any_io() -> None:
    logger = logging.getLogger("test.policy")
    off = SearchCachePolicy(cache_settings(enabled=False), service="django", logger=logger)
    assert off.skip(None) is CacheStatus.OFF
    assert off.skip("no-cache") is CacheStatus.OFF
    on = SearchCachePolicy(cache_settings(), service="django", logger=logger)
    assert on.skip(None) is None
    assert on.skip("no-cache") is CacheStatus.BYPASS
    for _ in range(3):
        on.breaker.failed(ConnectionError("refused"), doing="Redis GET")
    assert on.skip(None) is CacheStatus.MISS
    assert on.skip("no-store") is CacheStatus.BYPASS


class Driver:
    """A driver with a dict for Redis and a fixed version, recording each call the flow asks for."""

    def __init__(self, policy: SearchCachePolicy, *, version: int | None = 7, redis_fails: bool = False) -> None:
        self.policy, self.version, self.redis_fails = policy, version, redis_fails
        self.slow_gets = 0  # GETs still to time out (each once) while Redis otherwise works
        self.redis: dict[str, bytes] = {}
        self.calls: list[str] = []

    def perform(self, request: Request) -> Reply:
        match request:
            case Call.SEARCH:
                self.calls.append("search")
                return b'{"count":1}'
            case Call.VERSION:
                self.calls.append("version")
                return self.version
            case RedisGet(key):
                self.calls.append("get")
                if self.redis_fails or self.slow_gets:
                    self.slow_gets = max(0, self.slow_gets - 1)
                    self.policy.breaker.failed(ConnectionError("refused"), doing="Redis GET")
                    return None
                self.policy.breaker.succeeded()
                return self.redis.get(key)
            case RedisPut(key, body):
                self.calls.append("put")
                if self.redis_fails:
                    self.policy.breaker.failed(ConnectionError("refused"), doing="Redis SET")
                    return None
                self.redis[key] = body
                return None

    def search(self, body: bytes = b"{}", cache_control: str | None = None) -> tuple[bytes, CacheStatus]:
        filters = parse_search_request(body)
        return drive(cached_search(self.policy, filters=filters, cache_control=cache_control), self.perform)


def test_the_flow_reads_the_version_then_redis_then_searches_and_stores_on_a_miss() -> None:
    driver = Driver(SearchCachePolicy(cache_settings(), service="django", logger=logging.getLogger("test.flow")))
    assert driver.search() == (b'{"count":1}', CacheStatus.MISS)
    assert driver.calls == ["version", "get", "search", "put"]
    assert list(driver.redis) == [key(b"{}", version=7)]
    driver.calls.clear()
    assert driver.search() == (b'{"count":1}', CacheStatus.HIT)
    assert driver.calls == ["version", "get"]
    # A new catalog version is a new key: the old entry is never looked up again.
    driver.version, driver.calls = 8, []
    assert driver.search()[1] is CacheStatus.MISS
    assert driver.calls == ["version", "get", "search", "put"]


@pytest.mark.parametrize(
    ("enabled", "cache_control", "status"),
    [(False, None, CacheStatus.OFF), (True, "no-cache", CacheStatus.BYPASS), (True, "No-Store", CacheStatus.BYPASS)],
)
def test_a_skipped_cache_only_searches(enabled: bool, cache_control: str | None, status: CacheStatus) -> None:
    policy = SearchCachePolicy(cache_settings(enabled=enabled), service="fastapi", logger=logging.getLogger("t"))
    driver = Driver(policy)
    assert driver.search(cache_control=cache_control) == (b'{"count":1}', status)
    assert driver.calls == ["search"]


def test_an_unusable_version_searches_without_redis() -> None:
    driver = Driver(SearchCachePolicy(cache_settings(), service="django", logger=logging.getLogger("t")), version=None)
    assert driver.search() == (b'{"count":1}', CacheStatus.MISS)
    assert driver.calls == ["version", "search"]


def test_a_dead_redis_is_skipped_once_its_failures_in_a_row_open_the_breaker() -> None:
    policy = SearchCachePolicy(cache_settings(), service="django", logger=logging.getLogger("test.flow.breaker"))
    driver = Driver(policy, redis_fails=True)
    assert driver.search() == (b'{"count":1}', CacheStatus.MISS)
    assert driver.calls == ["version", "get", "search", "put"]  # two failures: still closed
    driver.calls.clear()
    assert driver.search() == (b'{"count":1}', CacheStatus.MISS)
    assert driver.calls == ["version", "get", "search"]  # the third opened it: no SET to a dead Redis
    driver.calls.clear()
    assert driver.search() == (b'{"count":1}', CacheStatus.MISS)
    assert driver.calls == ["search"]


def test_a_lone_slow_get_still_stores_the_body_for_the_next_search() -> None:
    policy = SearchCachePolicy(cache_settings(), service="fastapi", logger=logging.getLogger("test.flow.slow"))
    driver = Driver(policy)
    driver.slow_gets = 1
    assert driver.search() == (b'{"count":1}', CacheStatus.MISS)
    assert driver.calls == ["version", "get", "search", "put"]
    assert driver.search() == (b'{"count":1}', CacheStatus.HIT)


def test_a_driver_that_answers_the_wrong_type_is_told_so() -> None:
    policy = SearchCachePolicy(cache_settings(), service="django", logger=logging.getLogger("t"))
    flow = cached_search(policy, filters=parse_search_request(b"{}"), cache_control=None)
    assert next(flow) is Call.VERSION
    with pytest.raises(TypeError, match="catalog version with str"):
        flow.send("7")  # type: ignore[arg-type]


def test_redis_options_carry_the_timeouts_and_no_empty_password() -> None:
    logger = logging.getLogger("test.policy")
    options = SearchCachePolicy(cache_settings(), service="fastapi", logger=logger).redis_options()
    assert options["password"] is None
    assert options["socket_timeout"] == options["socket_connect_timeout"] == 0.05
    secret = secrets.token_hex(8)
    with_password = SearchCachePolicy(cache_settings(password=secret), service="fastapi", logger=logger)
    assert with_password.redis_options()["password"] == secret


CACHE_VARIABLES = (
    "SEARCH_CACHE",
    "SEARCH_CACHE_REDIS_HOST",
    "SEARCH_CACHE_REDIS_PORT",
    "SEARCH_CACHE_REDIS_PASSWORD",
    "SEARCH_CACHE_REDIS_PASSWORD_FILE",
    "SEARCH_CACHE_TTL_SECONDS",
    "SEARCH_CACHE_TIMEOUT_MS",
    "SEARCH_CACHE_BREAKER_SECONDS",
    "SEARCH_CACHE_BREAKER_FAILURES",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in CACHE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_settings_without_a_host_mean_no_cache(clean_env: pytest.MonkeyPatch) -> None:
    settings = SearchCacheSettings.from_env()
    assert not settings.enabled
    assert (settings.ttl_seconds, settings.timeout_s, settings.breaker_seconds, settings.breaker_failures) == (
        300,
        0.05,
        5,
        3,
    )


def test_settings_with_a_host_and_a_password_file(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "redis_cache_password"
    secret.write_text("s3cret\n")
    clean_env.setenv("SEARCH_CACHE_REDIS_HOST", "redis-cache")
    clean_env.setenv("SEARCH_CACHE_REDIS_PASSWORD_FILE", str(secret))
    clean_env.setenv("SEARCH_CACHE_TIMEOUT_MS", "30")
    clean_env.setenv("SEARCH_CACHE_TTL_SECONDS", "60")
    settings = SearchCacheSettings.from_env()
    assert settings.enabled
    assert (settings.host, settings.port, settings.password) == ("redis-cache", 6379, "s3cret")
    assert (settings.timeout_s, settings.ttl_seconds) == (0.03, 60)


def test_search_cache_off_switches_it_off_whatever_the_host(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SEARCH_CACHE_REDIS_HOST", "redis-cache")
    clean_env.setenv("SEARCH_CACHE", "OFF")
    assert not SearchCacheSettings.from_env().enabled


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SEARCH_CACHE", "maybe"),
        ("SEARCH_CACHE_TTL_SECONDS", "0"),
        ("SEARCH_CACHE_TIMEOUT_MS", "fast"),
        ("SEARCH_CACHE_BREAKER_SECONDS", "-1"),
        ("SEARCH_CACHE_BREAKER_FAILURES", "0"),
        ("SEARCH_CACHE_REDIS_PORT", "redis"),
    ],
)
def test_bad_settings_fail_fast_naming_the_variable(clean_env: pytest.MonkeyPatch, name: str, value: str) -> None:
    clean_env.setenv("SEARCH_CACHE_REDIS_HOST", "redis-cache")
    clean_env.setenv(name, value)
    with pytest.raises(InvalidSetting, match=name):
        SearchCacheSettings.from_env()
