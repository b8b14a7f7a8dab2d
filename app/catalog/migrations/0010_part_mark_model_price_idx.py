"""The index that sums a price range of a mark or a model without a name filter (catalog/models.py, Part).

Built concurrently, so searches and writes go on (a few seconds at a million parts); resumable after an
interrupted attempt (catalog/operations.py).
"""

from django.db import migrations, models
from django.db.models import Q

from catalog.operations import AddIndexConcurrentlyResumable


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("catalog", "0009_part_colour_bands")]

    operations = [
        AddIndexConcurrentlyResumable(
            model_name="part",
            index=models.Index(
                fields=["mark", "model", "price"], condition=Q(is_visible=True), name="part_mark_model_price_idx"
            ),
        ),
    ]
