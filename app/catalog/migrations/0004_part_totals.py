"""``part_totals``: count and price sum of every group of visible parts, kept exact by triggers.

Why: service_common/totals.py. The triggers are statement triggers with transition tables, so a
``bulk_create`` batch of 5 000 parts costs one grouped upsert, not 5 000; they run in the writing
transaction, so the totals are exact at every snapshot and a rolled-back write leaves them untouched.
Each upsert takes its groups in key order, and every catalog write first takes the catalog version row
(migration 0003's BEFORE statement trigger, which runs before the statement and so before these AFTER
triggers), so two writers never wait for each other in a circle.

Deploying onto a populated catalog: the table is filled under a SHARE lock on ``part`` (writes wait,
searches go on; about 1 s at a million parts), taken after the triggers exist, so no write is counted
twice or missed.
"""

from django.db import migrations, models

# One upsert per direction: -1 for the old rows of an UPDATE or DELETE, +1 for the new rows of an INSERT
# or UPDATE. Groups whose count reaches 0 are removed (the partial index keeps that cheap).
_FUNCTION = """
CREATE FUNCTION part_totals_apply() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE FUNCTION part_totals_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM part_totals;
    RETURN NULL;
END
$$;

CREATE TRIGGER part_totals_on_insert AFTER INSERT ON part
    REFERENCING NEW TABLE AS new_parts FOR EACH STATEMENT EXECUTE FUNCTION part_totals_apply();
CREATE TRIGGER part_totals_on_update AFTER UPDATE ON part
    REFERENCING OLD TABLE AS old_parts NEW TABLE AS new_parts FOR EACH STATEMENT EXECUTE FUNCTION part_totals_apply();
CREATE TRIGGER part_totals_on_delete AFTER DELETE ON part
    REFERENCING OLD TABLE AS old_parts FOR EACH STATEMENT EXECUTE FUNCTION part_totals_apply();
CREATE TRIGGER part_totals_on_truncate AFTER TRUNCATE ON part
    FOR EACH STATEMENT EXECUTE FUNCTION part_totals_clear();

CREATE INDEX part_totals_empty_idx ON part_totals (id) WHERE parts = 0;

-- The rows step filters parts on plain values; the planner needs to know that a model fixes its mark
-- (without it, mark AND model was estimated 5x too rare, and a 45 000-row match was fetched whole and
-- sorted, 90 ms, instead of walking the primary key for 10 rows, 0.1 ms) and how common each colour,
-- is_new_part and stock count are (no index holds these expressions alone, so ANALYZE had no figures).
CREATE STATISTICS part_mark_model_stats (dependencies, mcv) ON mark_id, model_id FROM part;
CREATE STATISTICS part_color_stats ON (upper(json_data ->> 'color')) FROM part;
CREATE STATISTICS part_is_new_part_stats ON ((json_data -> 'is_new_part')) FROM part;
CREATE STATISTICS part_count_stats ON ((json_data -> 'count')) FROM part;

LOCK TABLE part IN SHARE MODE;
INSERT INTO part_totals (mark_id, model_id, name, color_key, is_new_part, parts, price_sum)
SELECT mark_id, model_id, name, upper(json_data ->> 'color'), json_data -> 'is_new_part', count(*), sum(price)
FROM part WHERE is_visible
GROUP BY 1, 2, 3, 4, 5;
ANALYZE part_totals;
ANALYZE part;
"""

_REVERSE = """
DROP TRIGGER part_totals_on_insert ON part;
DROP TRIGGER part_totals_on_update ON part;
DROP TRIGGER part_totals_on_delete ON part;
DROP TRIGGER part_totals_on_truncate ON part;
DROP FUNCTION part_totals_apply();
DROP FUNCTION part_totals_clear();
DROP STATISTICS part_mark_model_stats, part_color_stats, part_is_new_part_stats, part_count_stats;
"""


class Migration(migrations.Migration):
    # After 0003: the lock order above relies on the catalog version row, and one line of migrations.
    dependencies = [("catalog", "0003_catalog_version")]

    operations = [
        migrations.CreateModel(
            name="PartTotals",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("mark_id", models.BigIntegerField()),
                ("model_id", models.BigIntegerField()),
                ("name", models.CharField(max_length=200)),
                ("color_key", models.TextField(null=True)),
                ("is_new_part", models.JSONField(null=True)),
                ("parts", models.BigIntegerField()),
                ("price_sum", models.BigIntegerField()),
            ],
            options={"db_table": "part_totals"},
        ),
        migrations.AddConstraint(
            model_name="parttotals",
            constraint=models.UniqueConstraint(
                fields=("mark_id", "model_id", "name", "color_key", "is_new_part"),
                name="part_totals_group",
                nulls_distinct=False,
            ),
        ),
        migrations.RunSQL(sql=_FUNCTION, reverse_sql=_REVERSE),
    ]
