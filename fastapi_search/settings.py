"""The FastAPI service's configuration, read once at start-up; fails fast when incomplete."""

from __future__ import annotations

from dataclasses import dataclass

from search_contract.release import release_from_env
from service_common.environment import DatabaseLimits, SearchCacheSettings, env_value
from service_common.faults import SearchFaults


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    database_url: str
    limits: DatabaseLimits
    connect_wait_seconds: float
    drain_marker: str
    root_path: str
    search_cache: SearchCacheSettings
    release: str
    search_faults: SearchFaults


def settings_from_env() -> Settings:
    return Settings(
        database_url=env_value("DATABASE_URL"),
        # Per worker process (gunicorn.py runs one per core): DB_CONCURRENCY searches at once, timeouts.
        limits=DatabaseLimits(),
        # How long a starting worker waits for PostgreSQL before giving up.
        connect_wait_seconds=float(env_value("DB_CONNECT_WAIT_SECONDS", "60")),
        drain_marker=env_value("DRAIN_MARKER", "/tmp/draining"),
        # Behind Nginx the service lives under /fastapi/; the docs need to know.
        root_path=env_value("FASTAPI_ROOT_PATH", ""),
        # The Redis response cache of the search (SEARCH_CACHE_*, service_common/environment.py).
        search_cache=SearchCacheSettings.from_env(),
        # X-Release on every answer: PARTSCAT_SERVICE's colour and the image's PARTSCAT_RELEASE_TAG (release.py).
        release=release_from_env(),
        # TEST RELEASES ONLY: PARTSCAT_FAULT_ERROR_SHARE and PARTSCAT_FAULT_DELAY_MS (service_common/faults.py).
        search_faults=SearchFaults.from_env(),
    )
