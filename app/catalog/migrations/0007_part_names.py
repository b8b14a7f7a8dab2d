"""``part_names``: every distinct name of a visible part, so a name substring never scans the groups.

Why: on the realistic profile a million parts make 729 000 groups, and a search by a part name alone (the
groups step's ``upper(name) LIKE '%ARM%'`` on ``part_totals``) read all of them: 600 ms a search, the largest
share of the benchmark's database time there (bench-results, 2026-12-07). The substring is now matched
against the few thousand names here, and the groups of the matching names are found through
``part_totals_name_idx`` (migration 0008): 25 ms for the same search.

The trigger function of migration 0006 gains one insert: the names of the visible parts a statement
writes, in key order, ``ON CONFLICT DO NOTHING``. Names are never removed but by a clear of the catalog
(catalog/models.py, ``PartName``): a name whose parts are gone matches no group.

Deploying onto a populated catalog: as in 0004 and 0006, the table is filled under a SHARE lock on
``part`` (writes wait, searches go on), taken after the new function is in place.
"""

from importlib import import_module

from django.db import migrations, models

FUNCTIONS = """
CREATE OR REPLACE FUNCTION part_totals_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    emptied_groups bigint[] := '{}';
    emptied_bands bigint[] := '{}';
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        WITH changed AS (
            INSERT INTO part_totals AS t (mark_id, model_id, name, color_key, is_new_part, parts, price_sum)
            SELECT mark_id, model_id, name, upper(json_data ->> 'color'), json_data -> 'is_new_part',
                   -count(*), -sum(price)
            FROM old_parts WHERE is_visible
            GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
            ON CONFLICT ON CONSTRAINT part_totals_group
            DO UPDATE SET parts = t.parts + excluded.parts, price_sum = t.price_sum + excluded.price_sum
            RETURNING t.id, t.parts)
        SELECT coalesce(array_agg(id) FILTER (WHERE parts = 0), '{}') INTO emptied_groups FROM changed;
        WITH changed AS (
            INSERT INTO part_price_bands AS b
                (mark_id, model_id, name, color_key, is_new_part, band, parts, price_sum)
            SELECT mark_id, model_id, name, upper(json_data ->> 'color'), json_data -> 'is_new_part',
                   price / 1000, -count(*), -sum(price)
            FROM old_parts WHERE is_visible
            GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
            ON CONFLICT (mark_id, model_id, name, color_key, is_new_part, band)
            DO UPDATE SET parts = b.parts + excluded.parts, price_sum = b.price_sum + excluded.price_sum
            RETURNING b.id, b.parts)
        SELECT coalesce(array_agg(id) FILTER (WHERE parts = 0), '{}') INTO emptied_bands FROM changed;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO part_totals AS t (mark_id, model_id, name, color_key, is_new_part, parts, price_sum)
        SELECT mark_id, model_id, name, upper(json_data ->> 'color'), json_data -> 'is_new_part',
               count(*), sum(price)
        FROM new_parts WHERE is_visible
        GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT ON CONSTRAINT part_totals_group
        DO UPDATE SET parts = t.parts + excluded.parts, price_sum = t.price_sum + excluded.price_sum;
        INSERT INTO part_price_bands AS b (mark_id, model_id, name, color_key, is_new_part, band, parts, price_sum)
        SELECT mark_id, model_id, name, upper(json_data ->> 'color'), json_data -> 'is_new_part',
               price / 1000, count(*), sum(price)
        FROM new_parts WHERE is_visible
        GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (mark_id, model_id, name, color_key, is_new_part, band)
        DO UPDATE SET parts = b.parts + excluded.parts, price_sum = b.price_sum + excluded.price_sum;
        INSERT INTO part_names (name)
        SELECT DISTINCT name FROM new_parts WHERE is_visible ORDER BY 1
        ON CONFLICT (name) DO NOTHING;
    END IF;
    -- An UPDATE's new rows may have filled a group again after its old rows emptied it: only what is 0 now.
    IF cardinality(emptied_groups) > 0 THEN
        DELETE FROM part_totals WHERE id = ANY(emptied_groups) AND parts = 0;
    END IF;
    IF cardinality(emptied_bands) > 0 THEN
        DELETE FROM part_price_bands WHERE id = ANY(emptied_bands) AND parts = 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION part_totals_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM part_totals;
    DELETE FROM part_price_bands;
    DELETE FROM part_names;
    RETURN NULL;
END
$$;
"""
_FUNCTION = (
    FUNCTIONS
    + """
LOCK TABLE part IN SHARE MODE;
INSERT INTO part_names (name) SELECT DISTINCT name FROM part WHERE is_visible;
ANALYZE part_names;
"""
)

# Reversed, migration 0006's functions come back as they were.
_REVERSE = import_module("catalog.migrations.0006_part_price_bands").FUNCTIONS


class Migration(migrations.Migration):
    dependencies = [("catalog", "0006_part_price_bands")]

    operations = [
        migrations.CreateModel(
            name="PartName",
            fields=[("name", models.CharField(max_length=200, primary_key=True, serialize=False))],
            options={"db_table": "part_names"},
        ),
        migrations.RunSQL(sql=_FUNCTION, reverse_sql=_REVERSE),
    ]
