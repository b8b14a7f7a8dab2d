"""``manage.py seed_parts``: reproducible, re-runnable, and written through the ORM for real."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.servers import Postgres, manage

FINGERPRINT_SQL = """
SELECT count(*), sum(p.price), count(*) FILTER (WHERE p.is_visible),
       md5(string_agg(m.name || '|' || d.name || '|' || p.name || '|' || p.price || '|'
                      || p.json_data::text || '|' || p.is_visible, ',' ORDER BY p.id))
FROM part p JOIN mark m ON m.id = p.mark_id JOIN model d ON d.id = p.model_id
"""


@pytest.fixture
def empty_database(postgres: Postgres, request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"seed_{request.node.name.lower()}"[:60]
    # Seeded as the apps' role, as scripts/seed.sh does inside a django task.
    yield postgres.catalog_create(name)
    postgres.database_drop(name)


def fingerprint(url: str) -> tuple[object, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(FINGERPRINT_SQL).fetchone()
    assert row is not None
    return tuple(row)


def test_seed_creates_catalog_and_is_reproducible(empty_database: str, postgres: Postgres) -> None:
    out = manage(empty_database, "seed_parts", "--parts", "1200", "--seed", "5", "--batch-size", "500")
    assert "seeded 1200 parts" in out
    first = fingerprint(empty_database)
    assert first[0] == 1200
    with psycopg.connect(empty_database) as conn:
        assert conn.execute("SELECT count(*) FROM mark").fetchone() == (5,)
        assert conn.execute("SELECT count(*) FROM model").fetchone() == (5,)
        # Every part's model belongs to the part's mark.
        assert conn.execute(
            "SELECT count(*) FROM part p JOIN model d ON d.id = p.model_id WHERE d.mark_id <> p.mark_id"
        ).fetchone() == (0,)
        names = conn.execute("SELECT count(DISTINCT name) FROM part").fetchone()
        assert names is not None and names[0] >= 5
        shapes = conn.execute(
            "SELECT count(*) FILTER (WHERE json_data = '{}'), "
            "count(*) FILTER (WHERE json_data ?& array['color','is_new_part','count']) FROM part"
        ).fetchone()
        assert shapes is not None and shapes[0] > 0 and shapes[1] > 0

    # The same seed again, replacing the parts, gives the very same catalog.
    manage(empty_database, "seed_parts", "--parts", "1200", "--seed", "5", "--clear")
    assert fingerprint(empty_database) == first
    # Another seed gives another catalog.
    manage(empty_database, "seed_parts", "--parts", "1200", "--seed", "6", "--clear")
    assert fingerprint(empty_database) != first


def test_seed_twice_adds_parts_and_keeps_marks(empty_database: str) -> None:
    manage(empty_database, "seed_parts", "--parts", "300", "--seed", "1")
    manage(empty_database, "seed_parts", "--parts", "200", "--seed", "2")
    with psycopg.connect(empty_database) as conn:
        assert conn.execute("SELECT count(*) FROM part").fetchone() == (500,)
        assert conn.execute("SELECT count(*) FROM mark").fetchone() == (5,)
        assert conn.execute("SELECT count(*) FROM model").fetchone() == (5,)


def test_seed_rejects_negative_count(empty_database: str) -> None:
    with pytest.raises(Exception, match="returned non-zero"):
        manage(empty_database, "seed_parts", "--parts", "-5")
