"""Configuration read from the environment, the way both services, the jobs and Docker secrets expect.

Not part of the search contract: what every process of the project reads the same way (service_common/__init__.py).

``NAME`` holds the value; alternatively ``NAME_FILE`` names a file holding it (a Docker secret mounted under
``/run/secrets``). A required value that is absent raises :class:`MissingSetting`; a value that is there but
malformed or out of range raises :class:`InvalidSetting`. Both name the variable, and both are a
:class:`SettingError`, so a caller that only wants "the configuration is wrong" catches that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class SettingError(RuntimeError):
    """The configuration in the environment cannot be used; the message names the variable."""


class MissingSetting(SettingError):
    """A required variable is not set (nor its ``_FILE``), or its ``_FILE`` cannot be read."""


class InvalidSetting(SettingError):
    """A variable is set, but to a value this setting does not accept."""


def env_value(name: str, default: str | None = None) -> str:
    """Return ``$NAME``, else the stripped content of the file ``$NAME_FILE``, else ``default``."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise MissingSetting(f"{name}_FILE={path} cannot be read: {exc.strerror}") from None
    if default is not None:
        return default
    raise MissingSetting(f"{name} (or {name}_FILE) must be set")


def env_int(name: str, default: int, *, low: int = 1) -> int:
    """``$NAME`` (or ``$NAME_FILE``) as a whole number of at least ``low`` (1 unless 0 means something)."""
    raw = env_value(name, str(default)).strip()
    # isascii: str.isdigit() also accepts digits such as '²' that int() refuses.
    if not (raw.isascii() and raw.isdigit()) or int(raw) < low:
        raise InvalidSetting(f"{name} must be a whole number of at least {low}, not {raw!r}")
    return int(raw)


def env_choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    """``$NAME`` (or ``$NAME_FILE``), case-insensitive, as one of ``allowed``."""
    raw = env_value(name, default).strip().lower()
    if raw not in allowed:
        raise InvalidSetting(f"{name} must be one of {', '.join(allowed)}, not {raw!r}")
    return raw


class DatabaseLimits:
    """Timeouts and concurrency of the apps' database work, read once from the environment by both services.

    - ``statement_timeout_ms``: the server cancels a request's statement after this long. A search runs two
      statements, so 2 x this stays inside gunicorn's graceful timeout (20 s): a draining task finishes
      every search it holds.
    - ``connect_timeout_s``: a connection attempt to a lost node fails after this long instead of hanging.
    - ``keepalive_*``: TCP keep-alives on every connection, and ``tcp_user_timeout_ms`` for unacknowledged
      writes, so a connection to a node that vanished without a reset is detected and dropped.
    - ``concurrency``: statements in flight per process at most (Django: database slots of the threads;
      FastAPI: the pool size). More requests than that wait at most ``queue_wait_s``, then get a fast 503.
    """

    def __init__(self) -> None:
        self.statement_timeout_ms = env_int("DB_STATEMENT_TIMEOUT_MS", 5000)
        self.connect_timeout_s = env_int("DB_CONNECT_TIMEOUT_SECONDS", 3)
        self.keepalive_idle_s = 30
        self.keepalive_interval_s = 10
        self.keepalive_count = 3
        self.tcp_user_timeout_ms = 30_000
        self.concurrency = env_int("DB_CONCURRENCY", 2)
        self.queue_wait_s = env_int("DB_QUEUE_WAIT_MS", 2000) / 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchCacheSettings:
    """The Redis response cache of ``POST /search/part/``, read once by both services (service_common/search_cache.py).

    - ``enabled``: ``SEARCH_CACHE`` is ``on`` (the default) and a cache Redis is named (``SEARCH_CACHE_REDIS_HOST``);
      without a host there is no cache, so a developer's checkout and the Celery worker need no Redis for it.
    - ``password``: ``SEARCH_CACHE_REDIS_PASSWORD`` (a secret file in the stack); empty means a Redis without AUTH.
    - ``ttl_seconds``: how long an answer is kept. Entries are never served stale (their key carries the catalog
      version); the TTL only bounds how long entries of older versions take up memory.
    - ``timeout_s``: the bound on connecting to Redis and on each of its replies. A few tens of milliseconds: Redis
      answers in well under one, and a Redis that does not answer must not hold a search up for longer.
    - ``breaker_seconds``: after ``breaker_failures`` Redis failures in a row, Redis is not asked at all for this long
      (searches go straight to PostgreSQL), so a dead or hanging Redis costs a few timeouts per process per
      period, not one per request; a lone slow reply does not stop the cache.
    """

    enabled: bool
    host: str
    port: int
    password: str
    ttl_seconds: int
    timeout_s: float
    breaker_seconds: int
    breaker_failures: int

    @classmethod
    def from_env(cls) -> SearchCacheSettings:
        switch = env_choice("SEARCH_CACHE", "on", ("on", "off"))
        host = env_value("SEARCH_CACHE_REDIS_HOST", "").strip()
        return cls(
            enabled=switch == "on" and bool(host),
            host=host,
            port=env_int("SEARCH_CACHE_REDIS_PORT", 6379),
            password=env_value("SEARCH_CACHE_REDIS_PASSWORD", ""),
            ttl_seconds=env_int("SEARCH_CACHE_TTL_SECONDS", 300),
            timeout_s=env_int("SEARCH_CACHE_TIMEOUT_MS", 50) / 1000,
            breaker_seconds=env_int("SEARCH_CACHE_BREAKER_SECONDS", 5),
            breaker_failures=env_int("SEARCH_CACHE_BREAKER_FAILURES", 3, low=1),
        )
