"""The indexes that find the groups of a part name, or of a model without a mark (catalog/models.py,
PartTotals).

Built concurrently, so searches and writes go on (about 5 s at a million parts of the realistic profile);
each is resumable after an interrupted attempt (catalog/operations.py).
"""

from django.db import migrations, models

from catalog.operations import AddIndexConcurrentlyResumable


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("catalog", "0007_part_names")]

    operations = [
        AddIndexConcurrentlyResumable(
            model_name="parttotals",
            index=models.Index(
                fields=["name", "mark_id", "model_id", "color_key", "is_new_part"],
                include=["parts", "price_sum"],
                name="part_totals_name_idx",
            ),
        ),
        AddIndexConcurrentlyResumable(
            model_name="parttotals",
            index=models.Index(
                fields=["model_id", "name", "color_key", "is_new_part"],
                include=["mark_id", "parts", "price_sum"],
                name="part_totals_model_idx",
            ),
        ),
    ]
