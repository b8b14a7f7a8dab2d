"""``part_price_bands``: the totals of each group split by price band, so a price filter needs no row sums.

Why: service_common/totals.py ("Price bands"). A band is ``price / 1000`` (``PRICE_BAND_WIDTH``); a price
range is the bands wholly inside it, read here, plus the parts of its two partial bands at the ends, read
from ``part`` (about 2 % of the matches at most for a range of 100 000).

The trigger function of migration 0004 is replaced by one that keeps both tables, in the same statement
triggers and the same key order. It also no longer finds emptied groups through the partial index
``part_totals_empty_idx (id) WHERE parts = 0``: an index on ``parts`` made every trigger update non-HOT, and
the table bloated to 733 pages for 2 025 rows in the benchmark. Emptied rows are now deleted by the ids the
upsert returns, and ``part_totals`` leaves room on each page for HOT updates (fillfactor). The bands trade
HOT for index-only reads: both of their indexes carry ``parts`` and ``price_sum`` (a search reads thousands
of band rows; from the heap that cost more than the parts it replaced), so autovacuum keeps them tidy.

Deploying onto a populated catalog: as in 0004, the bands are filled under a SHARE lock on ``part`` (writes
wait, searches go on), taken after the new function is in place.
"""

from django.db import migrations, models

# Shared by both tables: upsert the signed count and price sum of the rows of one transition table, and
# collect the ids whose count reached 0 (deleted afterwards by primary key, so no index names `parts`).
# The bands' unique index carries the sums (INCLUDE), which Django builds as an index, not a constraint:
# their upsert names its columns, not the constraint.
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
    RETURN NULL;
END
$$;
"""
# Migration 0007 restores these functions when it is reversed (its _REVERSE is FUNCTIONS).
_FUNCTION = (
    FUNCTIONS
    + """
DROP INDEX part_totals_empty_idx;
ALTER TABLE part_totals SET (fillfactor = 70);

LOCK TABLE part IN SHARE MODE;
INSERT INTO part_price_bands (mark_id, model_id, name, color_key, is_new_part, band, parts, price_sum)
SELECT mark_id, model_id, name, upper(json_data ->> 'color'), json_data -> 'is_new_part', price / 1000,
       count(*), sum(price)
FROM part WHERE is_visible
GROUP BY 1, 2, 3, 4, 5, 6;
ANALYZE part_price_bands;
"""
)

# Migration 0004's function, as it was.
_REVERSE = """
CREATE OR REPLACE FUNCTION part_totals_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO part_totals AS t (mark_id, model_id, name, color_key, is_new_part, parts, price_sum)
        SELECT mark_id, model_id, name, upper(json_data ->> 'color'), json_data -> 'is_new_part',
               -count(*), -sum(price)
        FROM old_parts WHERE is_visible
        GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT ON CONSTRAINT part_totals_group
        DO UPDATE SET parts = t.parts + excluded.parts, price_sum = t.price_sum + excluded.price_sum;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO part_totals AS t (mark_id, model_id, name, color_key, is_new_part, parts, price_sum)
        SELECT mark_id, model_id, name, upper(json_data ->> 'color'), json_data -> 'is_new_part',
               count(*), sum(price)
        FROM new_parts WHERE is_visible
        GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT ON CONSTRAINT part_totals_group
        DO UPDATE SET parts = t.parts + excluded.parts, price_sum = t.price_sum + excluded.price_sum;
    END IF;
    DELETE FROM part_totals WHERE parts = 0;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION part_totals_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM part_totals;
    RETURN NULL;
END
$$;

ALTER TABLE part_totals RESET (fillfactor);
CREATE INDEX part_totals_empty_idx ON part_totals (id) WHERE parts = 0;
"""


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_part_group_indexes")]

    operations = [
        migrations.CreateModel(
            name="PartPriceBand",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("mark_id", models.BigIntegerField()),
                ("model_id", models.BigIntegerField()),
                ("name", models.CharField(max_length=200)),
                ("color_key", models.TextField(null=True)),
                ("is_new_part", models.JSONField(null=True)),
                ("band", models.IntegerField()),
                ("parts", models.BigIntegerField()),
                ("price_sum", models.BigIntegerField()),
            ],
            options={"db_table": "part_price_bands"},
        ),
        migrations.AddConstraint(
            model_name="partpriceband",
            constraint=models.UniqueConstraint(
                fields=("mark_id", "model_id", "name", "color_key", "is_new_part", "band"),
                name="part_price_bands_group_band",
                include=("parts", "price_sum"),
                nulls_distinct=False,
            ),
        ),
        migrations.AddIndex(
            model_name="partpriceband",
            index=models.Index(
                fields=["band"],
                include=["parts", "price_sum", "color_key", "is_new_part"],
                name="part_price_bands_band_idx",
            ),
        ),
        migrations.RunSQL(sql=_FUNCTION, reverse_sql=_REVERSE),
    ]
