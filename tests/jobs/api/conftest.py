"""Fixtures of the jobs API tests: a catalog database of their own, a Redis broker and a Django server.

The server runs the production settings under gunicorn, as the stack does, with a small import limit
(IMPORT_LIMIT) so that the 413 is cheap to reach. Jobs are enqueued to the real Redis and stay queued: no
worker runs here, so every job these tests create is still ``queued`` when they read it.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.admin_login import admin_user_create
from tests.servers import Postgres, Redis, Server, manage, start_app, start_redis

DATABASE = "jobs_api"
# The test server's JOBS_IMPORT_MAX_BYTES: 3 MiB, so that a file of several 1 MiB chunks fits below it.
IMPORT_LIMIT = 3 * 1024 * 1024
WRITER = "tests-writer"


@pytest.fixture(scope="session")
def api_database_url(postgres: Postgres) -> Iterator[str]:
    """The app role's URL of a migrated catalog with a few parts (for the admin's part list)."""
    url = postgres.catalog_create(DATABASE, parts=40, seed=3)
    admin_user_create(url)
    yield url
    postgres.database_drop(DATABASE)


@pytest.fixture(scope="session")
def api_sql(postgres: Postgres, api_database_url: str) -> Postgres:
    """The cluster, once the database exists: ``sql(api_sql, statement)`` reads and writes it directly."""
    return postgres


def sql(postgres: Postgres, statement: str) -> str:
    return postgres.psql(statement, dbname=DATABASE)


@pytest.fixture(scope="session")
def api_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    server = start_redis(tmp_path_factory.mktemp("jobs-api-redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def api_server(api_database_url: str, api_redis: Redis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log_dir = tmp_path_factory.mktemp("jobs-api-logs")
    env = {**api_redis.env(), "JOBS_IMPORT_MAX_BYTES": str(IMPORT_LIMIT)}
    server = start_app("django", api_database_url, log_dir, extra_env=env)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def api_server_url(api_server: Server) -> str:
    return api_server.base_url


@pytest.fixture(scope="session")
def api(api_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_server.base_url, timeout=30) as client:
        yield client


def token_create(database_url: str, name: str) -> str:
    """A new API token through the real command: the last line it prints."""
    return manage(database_url, "create_api_token", name).rstrip("\n").splitlines()[-1]


@pytest.fixture(scope="session")
def writer_token(api_database_url: str) -> str:
    return token_create(api_database_url, WRITER)


@pytest.fixture(scope="session")
def auth(writer_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {writer_token}"}


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, str]:
    """The shared error body with ``status`` and ``code``; returns its fields."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    fields: dict[str, str] = body["error"]["fields"]
    return fields
