"""``part_colour_bands``: count and price sum of the visible parts by colour, newness and price band only.

Why: a search with none of the mark, model and name filters (a colour, new parts only, a price range, or
nothing at all) matches every group that has its colour and newness, and summing them is summing nearly the
whole of ``part_totals`` on a catalog whose groups are about as many as its parts (the realistic profile:
729 000 groups at a million parts). Such searches were 150 to 600 ms on their own at one connection
(bench-results, 2026-12-07); this table holds 6 700 rows there (24 colours x 3 newness values x 381 bands)
and 2 238 at 10 000 parts of the task's catalog, so their totals read at most that many rows, index-only
(service_common/totals.py, "Searches without a group filter").

The trigger function of migration 0007 gains one upsert each way, in key order, and the deletion of emptied
rows, as for the bands. Deploying onto a populated catalog: filled under a SHARE lock on ``part`` (writes
wait, searches go on), taken after the new function is in place.
"""

from importlib import import_module

from django.db import migrations, models

FUNCTIONS = """
CREATE OR REPLACE FUNCTION part_totals_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    emptied_groups bigint[] := '{}';
    emptied_bands bigint[] := '{}';
    emptied_colour_bands bigint[] := '{}';
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
        WITH changed AS (
            INSERT INTO part_colour_bands AS c (color_key, is_new_part, band, parts, price_sum)
            SELECT upper(json_data ->> 'color'), json_data -> 'is_new_part', price / 1000, -count(*), -sum(price)
            FROM old_parts WHERE is_visible
            GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            ON CONFLICT (color_key, is_new_part, band)
            DO UPDATE SET parts = c.parts + excluded.parts, price_sum = c.price_sum + excluded.price_sum
            RETURNING c.id, c.parts)
        SELECT coalesce(array_agg(id) FILTER (WHERE parts = 0), '{}') INTO emptied_colour_bands FROM changed;
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
        INSERT INTO part_colour_bands AS c (color_key, is_new_part, band, parts, price_sum)
        SELECT upper(json_data ->> 'color'), json_data -> 'is_new_part', price / 1000, count(*), sum(price)
        FROM new_parts WHERE is_visible
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (color_key, is_new_part, band)
        DO UPDATE SET parts = c.parts + excluded.parts, price_sum = c.price_sum + excluded.price_sum;
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
    IF cardinality(emptied_colour_bands) > 0 THEN
        DELETE FROM part_colour_bands WHERE id = ANY(emptied_colour_bands) AND parts = 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION part_totals_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM part_totals;
    DELETE FROM part_price_bands;
    DELETE FROM part_names;
    DELETE FROM part_colour_bands;
    RETURN NULL;
END
$$;
"""
_FUNCTION = (
    FUNCTIONS
    + """
LOCK TABLE part IN SHARE MODE;
INSERT INTO part_colour_bands (color_key, is_new_part, band, parts, price_sum)
SELECT upper(json_data ->> 'color'), json_data -> 'is_new_part', price / 1000, count(*), sum(price)
FROM part WHERE is_visible
GROUP BY 1, 2, 3;
ANALYZE part_colour_bands;
"""
)

# Reversed, migration 0007's functions come back as they were.
_REVERSE = import_module("catalog.migrations.0007_part_names").FUNCTIONS


class Migration(migrations.Migration):
    dependencies = [("catalog", "0008_part_totals_lookup_indexes")]

    operations = [
        migrations.CreateModel(
            name="PartColourBand",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("color_key", models.TextField(null=True)),
                ("is_new_part", models.JSONField(null=True)),
                ("band", models.IntegerField()),
                ("parts", models.BigIntegerField()),
                ("price_sum", models.BigIntegerField()),
            ],
            options={"db_table": "part_colour_bands"},
        ),
        migrations.AddConstraint(
            model_name="partcolourband",
            constraint=models.UniqueConstraint(
                fields=("color_key", "is_new_part", "band"),
                name="part_colour_bands_key",
                include=("parts", "price_sum"),
                nulls_distinct=False,
            ),
        ),
        migrations.RunSQL(sql=_FUNCTION, reverse_sql=_REVERSE),
    ]
