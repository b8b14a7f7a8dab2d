"""Planner statistics on upper(part.name).

A trigram GIN index stores trigrams, so ANALYZE gathers no statistics for its
expression and the planner guessed that '%БАМП%' matches 90 rows of a million
(it matched 120 000): it then chose the trigram index over the (mark, colour)
index for query shape 1 and ran 5x slower. Expression statistics (PostgreSQL 14+)
give it the real frequencies. EXPLAIN ANALYZE before and after: README.md.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql="CREATE STATISTICS part_name_upper_stats ON (upper(name::text)) FROM part",
            reverse_sql="DROP STATISTICS part_name_upper_stats",
        ),
    ]
