"""The indexes of a search's rows step (service_common/totals.py), built concurrently.

Concurrent builds keep searches and writes going on a populated catalog; about 40 s in all at a million
parts on 2 cores. Each is resumable after an interrupted attempt (catalog/operations.py).
"""

from django.db import migrations, models
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Upper

from catalog.operations import AddIndexConcurrentlyResumable

VISIBLE = models.Q(is_visible=True)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("catalog", "0004_part_totals")]

    operations = [
        AddIndexConcurrentlyResumable(
            model_name="part",
            index=models.Index(
                models.F("mark"),
                models.F("model"),
                models.F("name"),
                Upper(KeyTextTransform("color", "json_data")),
                KeyTransform("is_new_part", "json_data"),
                models.F("price"),
                condition=VISIBLE,
                name="part_group_price_idx",
            ),
        ),
        AddIndexConcurrentlyResumable(
            model_name="part",
            index=models.Index(fields=["price"], include=["mark", "model"], condition=VISIBLE, name="part_price_idx"),
        ),
        AddIndexConcurrentlyResumable(
            model_name="part",
            index=models.Index(KeyTransform("count", "json_data"), condition=VISIBLE, name="part_count_idx"),
        ),
    ]
