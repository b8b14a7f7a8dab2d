"""``manage.py seed_parts``: reproducible, re-runnable, of either data profile, and written through the ORM for
real."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import psycopg
import pytest

from catalog.profiles import vocabulary
from tests.catalog.test_part_totals import assert_exact
from tests.servers import Postgres, manage

FINGERPRINT_SQL = """
SELECT count(*), sum(p.price), count(*) FILTER (WHERE p.is_visible),
       md5(string_agg(m.name || '|' || d.name || '|' || p.name || '|' || p.price || '|'
                      || p.json_data::text || '|' || p.is_visible, ',' ORDER BY p.id))
FROM part p JOIN mark m ON m.id = p.mark_id JOIN model d ON d.id = p.model_id
"""
# FINGERPRINT_SQL of ``seed_parts --parts 1200 --seed 5`` as it was before profiles existed (8ec84dd): the task
# profile, the default, must keep giving exactly this catalog.
TASK_1200_SEED_5 = (1200, 60395013, 1076, "225e2952819447ac5ebf1189ec845fdf")
CATALOG_SQL = """
SELECT m.name, m.producer_country_name, d.name FROM model d JOIN mark m ON m.id = d.mark_id ORDER BY d.id
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
    assert "seeded 1200 parts (seed 5, profile task)" in out
    first = fingerprint(empty_database)
    assert first == TASK_1200_SEED_5
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
    with pytest.raises(subprocess.CalledProcessError, match="must be a whole number of at least 0"):
        manage(empty_database, "seed_parts", "--parts", "-5")


def test_seed_rejects_an_unknown_profile(empty_database: str) -> None:
    with pytest.raises(subprocess.CalledProcessError, match="invalid choice: 'huge'"):
        manage(empty_database, "seed_parts", "--parts", "5", "--profile", "huge")


def catalog_of(url: str) -> list[tuple[str, str, str]]:
    """(mark, country, model) of every model, in id order."""
    with psycopg.connect(url) as conn:
        return [tuple(row) for row in conn.execute(CATALOG_SQL).fetchall()]


def profile_catalog(profile: str) -> list[tuple[str, str, str]]:
    words = vocabulary(profile)
    return [(*words.marks[mark], name) for name, mark in words.models]


def test_the_realistic_profile_is_big_skewed_reproducible_and_keeps_the_totals_exact(empty_database: str) -> None:
    args = ("seed_parts", "--profile", "realistic", "--parts", "20000", "--seed", "3")
    assert "seeded 20000 parts (seed 3, profile realistic)" in manage(empty_database, *args)
    first = fingerprint(empty_database)
    assert first[0] == 20_000
    assert catalog_of(empty_database) == profile_catalog("realistic")
    with psycopg.connect(empty_database) as conn:
        assert conn.execute(
            "SELECT count(*) FROM part p JOIN model d ON d.id = p.model_id WHERE d.mark_id <> p.mark_id"
        ).fetchone() == (0,)
        # The top 1 % of the 5 000 names carry a large share of the parts; most names are rare.
        top = conn.execute(
            "SELECT sum(n) FROM (SELECT count(*) AS n FROM part GROUP BY name ORDER BY n DESC LIMIT 50) t"
        ).fetchone()
        assert top is not None and top[0] > 0.3 * 20_000
        marks = conn.execute("SELECT count(DISTINCT mark_id), max(price) FROM part").fetchone()
        assert marks is not None and marks[0] >= 50 and marks[1] > 100_000
        # Far more groups than the task profile's 2 025: that is what the profile is for.
        groups = conn.execute("SELECT count(*) FROM part_totals").fetchone()
        assert groups is not None and groups[0] > 10_000
        assert_exact(conn)

    manage(empty_database, *args, "--clear")
    assert fingerprint(empty_database) == first


def test_clear_leaves_only_the_profiles_marks_and_models_both_ways(empty_database: str) -> None:
    manage(empty_database, "seed_parts", "--parts", "300", "--seed", "1")
    # A mark and model of nobody's profile (one with a part, one without): a --clear drops them too.
    with psycopg.connect(empty_database) as conn:
        conn.execute(
            "INSERT INTO mark (name, producer_country_name, is_visible) "
            "VALUES ('Škoda', 'Чехия', true), ('Zaz', 'Украина', true)"
        )
        conn.execute(
            "INSERT INTO model (name, mark_id, is_visible) SELECT 'Octavia', id, true FROM mark WHERE name = 'Škoda'"
        )
        conn.execute(
            "INSERT INTO part (name, mark_id, model_id, price, json_data, is_visible) "
            "SELECT 'Spoiler', mark_id, id, 10, '{}', true FROM model WHERE name = 'Octavia'"
        )

    manage(empty_database, "seed_parts", "--profile", "realistic", "--parts", "500", "--seed", "2", "--clear")
    assert catalog_of(empty_database) == profile_catalog("realistic")
    assert fingerprint(empty_database)[0] == 500

    manage(empty_database, "seed_parts", "--parts", "1200", "--seed", "5", "--clear")
    assert catalog_of(empty_database) == profile_catalog("task")
    assert fingerprint(empty_database) == TASK_1200_SEED_5
    with psycopg.connect(empty_database) as conn:
        assert_exact(conn)
