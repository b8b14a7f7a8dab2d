"""The catalog version: a one-row table that every write to mark, model or part bumps, in PostgreSQL itself.

The search response cache keys its entries by this version (service_common/search_cache.py), so a write of
any kind (the admin, seed_parts, imports, Celery jobs, raw SQL, a later supplier price sync) makes every older
entry unreachable, with nothing to remember in the application.

Why a row and not a sequence: the bump is an UPDATE in the writer's own transaction, so it becomes visible at
the same commit as the write. A reader that sees the new version also sees the write; nextval() is not
transactional, and a reader could cache a body read before the commit under the new number.

Why BEFORE statement triggers (rather than AFTER): the row lock on catalog_version is then the first lock a
writing statement takes, before any row of mark, model or part. With AFTER triggers, a transaction that had
already bumped could wait for a row that a second writer locked just before queuing for the version row: a
deadlock. The bump is rolled back with its statement's transaction or savepoint, so BEFORE is as exact.

Cost, on purpose: writers of the catalog serialise on that row until they commit (a second writing transaction
waits at its first catalog statement). Catalog writes are admin edits and batch jobs, each committed in
batches; searches only read the row and never wait (MVCC). Every statement bumps, even one that changed no
row: checking would need transition tables, which TRUNCATE triggers cannot have, and a needless bump only
costs a cache miss.

Why the value is a clock in microseconds rather than a plain counter: a counter restarts (a recreated database)
or goes back (a database restored from a backup) while the cache Redis keeps running, and a reused number
could meet entries written for other data. greatest(version + 1, now) always moves forward, and past any
number handed out before.

The apps' role needs SELECT and UPDATE on the table (the trigger runs as the writer): it gets them from the
owner's default privileges, like every table a migration creates (scripts/images/postgres-roles.sql).
"""

from django.db import migrations

CATALOG_TABLES = ("mark", "model", "part")

CLOCK_MICROSECONDS = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"

CREATE = f"""
CREATE TABLE catalog_version (
    -- Exactly one row: the primary key can only be true.
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint NOT NULL
);
INSERT INTO catalog_version (id, version) VALUES (true, {CLOCK_MICROSECONDS});

CREATE FUNCTION catalog_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Takes the row lock that serialises catalog writers until their commit (see migration catalog 0003).
    UPDATE catalog_version SET version = greatest(version + 1, {CLOCK_MICROSECONDS});
    RETURN NULL;
END
$$;
""" + "".join(
    f"""
CREATE TRIGGER {table}_catalog_version
    BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_version_bump();
"""
    for table in CATALOG_TABLES
)

DROP = "".join(f"DROP TRIGGER {table}_catalog_version ON {table};\n" for table in CATALOG_TABLES) + """
DROP FUNCTION catalog_version_bump();
DROP TABLE catalog_version;
"""


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_part_name_statistics")]

    operations = [migrations.RunSQL(sql=CREATE, reverse_sql=DROP)]
