"""Migrations 0006 (``part_price_bands``), 0007 (``part_names``) and 0009 (``part_colour_bands``) on a catalog
that already holds parts, both ways, and the models agreeing with the migrations (``makemigrations --check``)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest

from tests.catalog.test_part_totals import assert_exact
from tests.servers import Postgres, manage


@pytest.fixture
def before_bands(postgres: Postgres) -> Iterator[tuple[str, str]]:
    """A catalog migrated to 0005 and seeded there (owner's URL, app's URL)."""
    name = f"bands_migration_{os.getpid()}"
    postgres.database_create(name)
    manage(postgres.owner_url(name), "migrate", "--no-input", "-v", "0")
    manage(postgres.owner_url(name), "migrate", "catalog", "0005", "--no-input", "-v", "0")
    manage(postgres.app_url(name), "seed_parts", "--parts", "800", "--seed", "5")
    yield postgres.owner_url(name), postgres.app_url(name)
    postgres.database_drop(name)


def test_a_populated_catalog_gets_exact_bands_and_the_migration_reverses(before_bands: tuple[str, str]) -> None:
    owner, app = before_bands
    with psycopg.connect(app) as conn:
        assert conn.execute("SELECT to_regclass('part_price_bands')").fetchone() == (None,)
    manage(owner, "migrate", "catalog", "0006", "--no-input", "-v", "0")
    with psycopg.connect(app) as conn:
        assert_exact(conn, schema=6)
        assert conn.execute("SELECT count(*) FROM part_price_bands").fetchone() != (0,)
    # Back to 0005: the bands go and the old function keeps part_totals exact through a write.
    manage(owner, "migrate", "catalog", "0005", "--no-input", "-v", "0")
    with psycopg.connect(app) as conn:
        assert conn.execute("SELECT to_regclass('part_price_bands')").fetchone() == (None,)
        conn.execute("UPDATE part SET price = price + 1 WHERE id % 2 = 0")
        conn.commit()
    manage(owner, "migrate", "catalog", "0006", "--no-input", "-v", "0")
    with psycopg.connect(app) as conn:
        conn.execute("DELETE FROM part WHERE id % 3 = 0")
        conn.commit()
        assert_exact(conn, schema=6)


def test_a_populated_catalog_gets_its_names_and_the_name_lookup_and_the_migration_reverses(
    before_bands: tuple[str, str],
) -> None:
    owner, app = before_bands
    manage(owner, "migrate", "catalog", "0008", "--no-input", "-v", "0")
    with psycopg.connect(app) as conn:
        assert_exact(conn, schema=8)
        names = conn.execute("SELECT count(*) FROM part_names").fetchone()
        assert names == conn.execute("SELECT count(DISTINCT name) FROM part WHERE is_visible").fetchone()
        indexes = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'part_totals' AND indexname LIKE '%_idx' ORDER BY 1"
        ).fetchall()
        assert indexes == [("part_totals_model_idx",), ("part_totals_name_idx",)]
        # A new name written after the migration is found by the triggers.
        conn.execute("UPDATE part SET name = 'Колпак колеса' WHERE id % 5 = 0")
        conn.commit()
        assert_exact(conn, schema=8)
    # Back to 0006: the names go and 0006's function keeps the totals and bands exact through a write.
    manage(owner, "migrate", "catalog", "0006", "--no-input", "-v", "0")
    with psycopg.connect(app) as conn:
        assert conn.execute("SELECT to_regclass('part_names')").fetchone() == (None,)
        conn.execute("UPDATE part SET price = price + 1 WHERE id % 2 = 0")
        conn.commit()
        assert_exact(conn, schema=6)


def test_the_models_and_the_migrations_agree(postgres: Postgres) -> None:
    # A model change without its migration would deploy a schema the code does not expect.
    manage(postgres.owner_url("postgres"), "makemigrations", "--check", "--dry-run", "-v", "0")


def test_a_populated_catalog_gets_exact_colour_bands_and_the_migration_reverses(
    before_bands: tuple[str, str],
) -> None:
    owner, app = before_bands
    manage(owner, "migrate", "catalog", "0008", "--no-input", "-v", "0")
    with psycopg.connect(app) as conn:
        conn.execute('UPDATE part SET json_data = json_data || \'{"color": "Chrome"}\' WHERE id % 4 = 0')
        conn.commit()
    manage(owner, "migrate", "catalog", "0009", "--no-input", "-v", "0")
    with psycopg.connect(app) as conn:
        assert_exact(conn)
        assert conn.execute("SELECT count(*) FROM part_colour_bands WHERE color_key = 'CHROME'").fetchone() != (0,)
        conn.execute("DELETE FROM part WHERE id % 3 = 0")
        conn.commit()
        assert_exact(conn)
    # Back to 0008: the table goes and 0007's function keeps the rest exact through a write.
    manage(owner, "migrate", "catalog", "0008", "--no-input", "-v", "0")
    with psycopg.connect(app) as conn:
        assert conn.execute("SELECT to_regclass('part_colour_bands')").fetchone() == (None,)
        conn.execute("UPDATE part SET price = price + 1 WHERE id % 2 = 0")
        conn.commit()
        assert_exact(conn, schema=8)
