"""Migration catalog 0003: every write to mark, model or part bumps catalog_version, in the writer's transaction.

Writes run as the apps' role (what Django, Celery and FastAPI connect as), TRUNCATE as the owner (the apps'
role may not truncate), on a catalog of their own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors

from tests.servers import APP_ROLE, Postgres, manage

DATABASE = "versions"


@pytest.fixture(scope="module")
def versions_db(postgres: Postgres) -> Iterator[tuple[str, str]]:
    """(apps' URL, owner's URL) of a small migrated and seeded catalog."""
    app_url = postgres.catalog_create(DATABASE, parts=10, seed=3)
    yield app_url, postgres.owner_url(DATABASE)
    postgres.database_drop(DATABASE)


def version(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT version FROM catalog_version").fetchone()
    assert row is not None
    return int(row[0])


def ids(conn: psycopg.Connection) -> tuple[int, int]:
    row = conn.execute("SELECT mark_id, model_id FROM part ORDER BY id LIMIT 1").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


# table -> (INSERT returning id, UPDATE of that id, DELETE of that id); %(mark)s and %(model)s are existing rows.
WRITES = {
    "mark": (
        "INSERT INTO mark (name, producer_country_name, is_visible) VALUES ('Versioned', 'Нигде', true) RETURNING id",
        "UPDATE mark SET producer_country_name = 'Везде' WHERE id = %(id)s",
        "DELETE FROM mark WHERE id = %(id)s",
    ),
    "model": (
        "INSERT INTO model (name, mark_id, is_visible) VALUES ('Versioned', %(mark)s, true) RETURNING id",
        "UPDATE model SET is_visible = false WHERE id = %(id)s",
        "DELETE FROM model WHERE id = %(id)s",
    ),
    "part": (
        "INSERT INTO part (name, mark_id, model_id, price, json_data, is_visible)"
        " VALUES ('Versioned', %(mark)s, %(model)s, 5, '{}', true) RETURNING id",
        "UPDATE part SET price = price + 1 WHERE id = %(id)s",
        "DELETE FROM part WHERE id = %(id)s",
    ),
}


@pytest.mark.parametrize("table", sorted(WRITES))
def test_insert_update_and_delete_bump_the_version_as_the_apps_role(versions_db: tuple[str, str], table: str) -> None:
    app_url, _ = versions_db
    insert, update, delete = WRITES[table]
    with psycopg.connect(app_url, autocommit=True) as conn:
        mark, model = ids(conn)
        seen = [version(conn)]
        row = conn.execute(insert, {"mark": mark, "model": model}).fetchone()
        assert row is not None
        seen.append(version(conn))
        conn.execute(update, {"id": row[0]})
        seen.append(version(conn))
        conn.execute(delete, {"id": row[0]})
        seen.append(version(conn))
    assert seen == sorted(set(seen)), f"each write should move the version forward: {seen}"


@pytest.mark.parametrize("table", sorted(WRITES))
def test_truncate_bumps_the_version(versions_db: tuple[str, str], table: str) -> None:
    _, owner_url = versions_db
    with psycopg.connect(owner_url) as conn:
        before = version(conn)
        # Inside a transaction that is rolled back: the catalog stays for the other tests.
        with conn.transaction(force_rollback=True):
            conn.execute(f"TRUNCATE {table} CASCADE")
            assert version(conn) > before
        assert version(conn) == before


def test_the_apps_role_reads_and_bumps_the_version_but_cannot_truncate_it(versions_db: tuple[str, str]) -> None:
    app_url, _ = versions_db
    with psycopg.connect(app_url) as conn:
        privileges = conn.execute(
            "SELECT has_table_privilege(%(role)s, 'catalog_version', 'SELECT'),"
            " has_table_privilege(%(role)s, 'catalog_version', 'UPDATE'),"
            " has_table_privilege(%(role)s, 'catalog_version', 'TRUNCATE')",
            {"role": APP_ROLE},
        ).fetchone()
    assert privileges == (True, True, False)


def test_a_reader_sees_the_new_version_only_with_the_write(versions_db: tuple[str, str]) -> None:
    """The bump commits with the write: no reader can see the new version and the old data."""
    app_url, _ = versions_db
    with psycopg.connect(app_url) as writer, psycopg.connect(app_url, autocommit=True) as reader:
        part_id = writer.execute("SELECT id FROM part ORDER BY id LIMIT 1").fetchone()[0]  # type: ignore[index]
        writer.commit()
        price = "SELECT price FROM part WHERE id = %s"
        before = (version(reader), reader.execute(price, (part_id,)).fetchone())
        writer.execute("UPDATE part SET price = price + 100 WHERE id = %s", (part_id,))
        # Not committed: neither the version nor the price has moved for anybody else.
        assert (version(reader), reader.execute(price, (part_id,)).fetchone()) == before
        writer.commit()
        after_version, after_price = version(reader), reader.execute(price, (part_id,)).fetchone()
    assert after_version > before[0]
    assert after_price is not None and before[1] is not None
    assert after_price[0] == before[1][0] + 100


def test_catalog_writers_wait_for_each_other_until_commit(versions_db: tuple[str, str]) -> None:
    """The cost of the design, on purpose: a second writing transaction queues on the version row."""
    app_url, _ = versions_db
    with psycopg.connect(app_url) as first, psycopg.connect(app_url) as second:
        first.execute("UPDATE mark SET is_visible = is_visible WHERE id = (SELECT min(id) FROM mark)")
        second.execute("SET lock_timeout = '200ms'")
        with pytest.raises(errors.LockNotAvailable):
            # Another table, another row: only the version row is shared.
            second.execute("UPDATE part SET price = price WHERE id = (SELECT min(id) FROM part)")
        second.rollback()
        first.commit()
        second.execute("UPDATE part SET price = price WHERE id = (SELECT min(id) FROM part)")
        second.commit()


def test_the_version_moves_past_the_clock_after_going_back(versions_db: tuple[str, str]) -> None:
    """A restored or recreated database must not hand out a number the cache has seen for other data."""
    app_url, owner_url = versions_db
    with psycopg.connect(owner_url) as owner:
        owner.execute("UPDATE catalog_version SET version = 5")
        owner.commit()
    now_microseconds = int(time.time() * 1_000_000)
    with psycopg.connect(app_url) as conn:
        conn.execute("UPDATE mark SET is_visible = is_visible WHERE false")
        conn.commit()
        assert version(conn) >= now_microseconds


def test_the_migration_can_be_reversed_and_applied_again(versions_db: tuple[str, str]) -> None:
    app_url, owner_url = versions_db
    manage(owner_url, "migrate", "catalog", "0002", "--no-input", "-v", "0")
    with psycopg.connect(owner_url) as conn:
        assert conn.execute("SELECT to_regclass('catalog_version')").fetchone() == (None,)
        # Writes work without it (a rollback to the release before the cache).
        conn.execute("UPDATE part SET price = price WHERE id = (SELECT min(id) FROM part)")
        conn.commit()
    manage(owner_url, "migrate", "--no-input", "-v", "0")
    with psycopg.connect(app_url) as conn:
        before = version(conn)
        conn.execute("UPDATE part SET price = price WHERE id = (SELECT min(id) FROM part)")
        conn.commit()
        assert version(conn) > before
