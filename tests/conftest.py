"""Session fixtures: a real PostgreSQL, a seeded catalog, and both services running for real."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.admin_login import ADMIN_USERNAME, admin_user_create
from tests.expected import Row, load_rows
from tests.servers import Postgres, Redis, Server, running_redis, start_app, start_postgres

SEED_PARTS = 3_000
SEED = 7

# Rows the random seed cannot be relied on to produce: LIKE wildcards in names,
# mixed case in both alphabets, a hidden part, a hidden mark, odd json_data.
EXTRA_ROWS_SQL = """
INSERT INTO mark (name, producer_country_name, is_visible) VALUES ('Škoda', 'Чехия', false);
INSERT INTO model (name, mark_id, is_visible) SELECT 'Octavia', id, false FROM mark WHERE name = 'Škoda';
INSERT INTO part (name, mark_id, model_id, price, json_data, is_visible)
SELECT v.name, d.mark_id, d.id, v.price, v.json_data::jsonb, v.is_visible
FROM (VALUES
    ('Невидимая деталь', 'Accord', 500, '{"color": "черный"}', false),
    ('Фильтр 100% масляный', 'Camry', 700, '{"count": 3}', true),
    ('Фильтр_100 воздушный', 'Camry', 900, '{}', true),
    ('Back\\slash bracket', 'X5', 1100, '{"is_new_part": true}', true),
    ('БАМПЕР ПЕРЕДНИЙ усиленный', 'Vesta', 2300, '{"color": "ЧЁРНЫЙ", "is_new_part": true, "count": 4}', true),
    ('Ёлочная накладка', 'Solaris', 0, '{"color": "Чёрный"}', true),
    ('Spoiler rear', 'Octavia', 4100, '{"color": "RED", "count": 0}', true),
    ('Odd json', 'Accord', 10, '{"is_new_part": "yes", "count": 2.5}', true)
) AS v(name, model, price, json_data, is_visible)
JOIN model d ON d.name = v.model;
"""


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    base = Path(tempfile.mkdtemp(prefix="parts-pg-"))
    server = start_postgres(base)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(postgres: Postgres) -> str:
    """The apps' URL (their role may only read and write rows) of a catalog migrated as the owner role and
    seeded through the real ``seed_parts`` command, plus EXTRA_ROWS_SQL."""
    url = postgres.catalog_create("catalog", parts=SEED_PARTS, seed=SEED)
    postgres.psql(EXTRA_ROWS_SQL, dbname="catalog")
    postgres.psql("ANALYZE", dbname="catalog")
    return url


@pytest.fixture(scope="session")
def admin_user(database_url: str) -> str:
    """A Django superuser (tests/admin_login.py logs in with it); its username."""
    admin_user_create(database_url)
    return ADMIN_USERNAME


@pytest.fixture(scope="session")
def rows(database_url: str) -> list[Row]:
    return load_rows(database_url)


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def drain_marker(log_dir: Path) -> Path:
    """The file whose presence tells both test servers they are draining."""
    return log_dir / "draining"


@pytest.fixture(scope="session")
def django_server(database_url: str, log_dir: Path, drain_marker: Path) -> Iterator[Server]:
    server = start_app("django", database_url, log_dir, drain_marker)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fastapi_server(database_url: str, log_dir: Path, drain_marker: Path) -> Iterator[Server]:
    server = start_app("fastapi", database_url, log_dir, drain_marker)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def django_client(django_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=django_server.base_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def fastapi_client(fastapi_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fastapi_server.base_url, timeout=30) as client:
        yield client


@pytest.fixture(params=["django", "fastapi"])
def client(request: pytest.FixtureRequest) -> httpx.Client:
    """Each test that takes ``client`` runs once against each service."""
    return request.getfixturevalue(f"{request.param}_client")  # type: ignore[no-any-return]


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Redis]:
    """A Redis of the test's own, as the stack's broker runs it: a password, memory only."""
    with running_redis(tmp_path) as server:
        yield server
