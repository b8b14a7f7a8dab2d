"""The FastAPI service's configuration, read once at start-up; fails fast when incomplete."""

from __future__ import annotations

from dataclasses import dataclass

from search_contract.settings import env_value


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    database_url: str
    pool_min_size: int
    pool_max_size: int
    statement_timeout_ms: int
    connect_wait_seconds: float
    drain_marker: str
    root_path: str


def settings_from_env() -> Settings:
    return Settings(
        database_url=env_value("DATABASE_URL"),
        # Per worker process; gunicorn_conf.py runs one worker per core.
        pool_min_size=int(env_value("DB_POOL_MIN_SIZE", "2")),
        pool_max_size=int(env_value("DB_POOL_MAX_SIZE", "10")),
        statement_timeout_ms=int(env_value("DB_STATEMENT_TIMEOUT_MS", "10000")),
        # How long a starting worker waits for PostgreSQL before giving up.
        connect_wait_seconds=float(env_value("DB_CONNECT_WAIT_SECONDS", "60")),
        drain_marker=env_value("DRAIN_MARKER", "/tmp/draining"),
        # Behind Nginx the service lives under /fastapi/; the docs need to know.
        root_path=env_value("FASTAPI_ROOT_PATH", ""),
    )
