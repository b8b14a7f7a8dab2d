"""``part_totals``, ``part_price_bands``, ``part_colour_bands`` and ``part_names`` stay equal to a recount of
``part`` after every kind of write, as the apps' role.

The searches take ``count`` and ``summ`` from it (service_common/totals.py), so a drift here would be a
wrong answer: every test compares the whole table with a ``GROUP BY`` over the parts themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest

from service_common.totals import PRICE_BAND_WIDTH
from tests.servers import Postgres, manage

RECOUNT = """
SELECT mark_id, model_id, name, upper(json_data ->> 'color'), json_data -> 'is_new_part', count(*), sum(price)
FROM part WHERE is_visible GROUP BY 1, 2, 3, 4, 5
"""
STORED = "SELECT mark_id, model_id, name, color_key, is_new_part, parts, price_sum FROM part_totals"
BANDS_RECOUNT = """
SELECT mark_id, model_id, name, upper(json_data ->> 'color'), json_data -> 'is_new_part', price / 1000,
       count(*), sum(price)
FROM part WHERE is_visible GROUP BY 1, 2, 3, 4, 5, 6
"""
BANDS_STORED = "SELECT mark_id, model_id, name, color_key, is_new_part, band, parts, price_sum FROM part_price_bands"


@pytest.fixture
def catalog(postgres: Postgres, request: pytest.FixtureRequest) -> Iterator[str]:
    name = _database_name(request)
    yield postgres.catalog_create(name, parts=600, seed=3)
    postgres.database_drop(name)


def _database_name(request: pytest.FixtureRequest) -> str:
    return re.sub(r"\W", "_", f"totals_{request.node.name.lower()}")[:60]


COLOUR_BANDS_RECOUNT = """
SELECT upper(json_data ->> 'color'), json_data -> 'is_new_part', price / 1000, count(*), sum(price)
FROM part WHERE is_visible GROUP BY 1, 2, 3
"""
COLOUR_BANDS_STORED = "SELECT color_key, is_new_part, band, parts, price_sum FROM part_colour_bands"
# The catalog migration of the newest table assert_exact checks.
LATEST = 9


def assert_exact(conn: psycopg.Connection, *, schema: int = LATEST) -> None:
    """Every table of totals equal to a recount of ``part``: those that exist at catalog migration ``schema``."""
    recount = sorted(conn.execute(RECOUNT).fetchall(), key=repr)
    stored = sorted(conn.execute(STORED).fetchall(), key=repr)
    assert stored == recount
    assert conn.execute("SELECT count(*) FROM part_totals WHERE parts <= 0").fetchone() == (0,)
    # The price bands (migration 0006) likewise, band = price / PRICE_BAND_WIDTH.
    assert PRICE_BAND_WIDTH == 1000
    bands_recount = sorted(conn.execute(BANDS_RECOUNT).fetchall(), key=repr)
    assert sorted(conn.execute(BANDS_STORED).fetchall(), key=repr) == bands_recount
    assert conn.execute("SELECT count(*) FROM part_price_bands WHERE parts <= 0").fetchone() == (0,)
    if schema >= 7:
        # Every name of a visible part is in part_names; names whose parts are gone may stay.
        missing = conn.execute(
            "SELECT DISTINCT name FROM part WHERE is_visible EXCEPT SELECT name FROM part_names"
        ).fetchall()
        assert missing == []
    if schema >= 9:
        colour_bands_recount = sorted(conn.execute(COLOUR_BANDS_RECOUNT).fetchall(), key=repr)
        assert sorted(conn.execute(COLOUR_BANDS_STORED).fetchall(), key=repr) == colour_bands_recount
        assert conn.execute("SELECT count(*) FROM part_colour_bands WHERE parts <= 0").fetchone() == (0,)


def test_seeding_fills_the_totals(catalog: str) -> None:
    with psycopg.connect(catalog) as conn:
        assert_exact(conn)
        assert (
            conn.execute("SELECT sum(parts) FROM part_totals").fetchone()
            == conn.execute("SELECT count(*) FROM part WHERE is_visible").fetchone()
        )


@pytest.mark.parametrize(
    "write",
    [
        "UPDATE part SET price = price + 7 WHERE id % 3 = 0",
        "UPDATE part SET is_visible = NOT is_visible WHERE id % 4 = 0",
        'UPDATE part SET json_data = json_data || \'{"color": "Фиолетовый"}\' WHERE id % 5 = 0',
        "UPDATE part SET json_data = json_data - 'is_new_part' WHERE id % 2 = 0",
        "UPDATE part SET name = 'Новая деталь' WHERE id % 6 = 0",
        "UPDATE part SET model_id = (SELECT min(id) FROM model), mark_id = (SELECT min(id) FROM mark) WHERE id % 7 = 0",
        "DELETE FROM part WHERE id % 3 = 1",
        "DELETE FROM part",
        "INSERT INTO part (name, mark_id, model_id, price, json_data, is_visible) "
        "SELECT name, mark_id, model_id, price * 2, json_data, is_visible FROM part WHERE id % 2 = 1",
    ],
)
def test_every_write_keeps_the_totals_exact(catalog: str, write: str) -> None:
    with psycopg.connect(catalog) as conn:
        conn.execute(write)
        assert_exact(conn)
        conn.commit()
        assert_exact(conn)


def test_a_rolled_back_write_leaves_the_totals(catalog: str) -> None:
    with psycopg.connect(catalog) as conn:
        before = conn.execute("SELECT sum(parts), sum(price_sum) FROM part_totals").fetchone()
        conn.execute("UPDATE part SET price = price + 1")
        conn.rollback()
        assert conn.execute("SELECT sum(parts), sum(price_sum) FROM part_totals").fetchone() == before
        assert_exact(conn)


def test_truncate_empties_the_totals(catalog: str, postgres: Postgres, request: pytest.FixtureRequest) -> None:
    # TRUNCATE is not the apps' role's (DML only): the superuser's, as an operator would run it.
    postgres.psql("TRUNCATE part", dbname=_database_name(request))
    with psycopg.connect(catalog) as conn:
        assert conn.execute("SELECT count(*) FROM part_totals").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM part_names").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM part_colour_bands").fetchone() == (0,)


def test_the_orm_and_the_seed_with_clear_keep_the_totals_exact(catalog: str) -> None:
    manage(catalog, "seed_parts", "--parts", "300", "--seed", "4", "--clear")
    with psycopg.connect(catalog) as conn:
        assert_exact(conn)
        # The clear dropped the names of the parts it deleted: only the new catalog's names are left.
        assert conn.execute("SELECT name FROM part_names EXCEPT SELECT name FROM part").fetchall() == []
        assert (
            conn.execute("SELECT sum(parts) FROM part_totals").fetchone()
            == conn.execute("SELECT count(*) FROM part WHERE is_visible").fetchone()
        )
