"""A name substring's matching names found by trigram index (catalog/models.py, PartName).

``part_names`` holds every distinct name (5 000 in the realistic profile), and a substring was matched by
reading all of them with ``upper(name) LIKE``: about 1.7 ms a search with a name at a million realistic parts.
The index on ``upper(name)`` also gives ANALYZE statistics on that expression, which the groups step's join
to the names is planned with (service_common/totals.py, "Part names"). Built concurrently, resumable
(catalog/operations.py): searches and writes go on.
"""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import migrations
from django.db.models.functions import Upper

from catalog.operations import AddIndexConcurrentlyResumable


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("catalog", "0011_part_count_group_idx")]

    operations = [
        AddIndexConcurrentlyResumable(
            model_name="partname",
            index=GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="part_names_upper_trgm_idx"),
        ),
        # The expression's statistics now, not when autovacuum next comes by: the join is planned with them.
        migrations.RunSQL("ANALYZE part_names", reverse_sql=migrations.RunSQL.noop),
    ]
