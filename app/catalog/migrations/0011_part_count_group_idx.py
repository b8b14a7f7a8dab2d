"""A stock count's parts found by the count and the group columns together (catalog/models.py, Part).

``part_count_idx`` held the count alone, so a count with a mark was a bitmap AND of the count's entries with
the mark's or model's (200 000 of them at a million parts). The new index leads with the count, then the group
columns and the price, and replaces it. Built concurrently before the old one is dropped concurrently, so
searches and writes go on and a count is never without an index; resumable (catalog/operations.py).
"""

from django.contrib.postgres.operations import RemoveIndexConcurrently
from django.db import migrations, models
from django.db.models.fields.json import KeyTransform

from catalog.operations import AddIndexConcurrentlyResumable


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("catalog", "0010_part_mark_model_price_idx")]

    operations = [
        AddIndexConcurrentlyResumable(
            model_name="part",
            index=models.Index(
                KeyTransform("count", "json_data"),
                models.F("mark"),
                models.F("model"),
                models.F("name"),
                models.F("price"),
                condition=models.Q(is_visible=True),
                name="part_count_group_idx",
            ),
        ),
        RemoveIndexConcurrently(model_name="part", name="part_count_idx"),
    ]
