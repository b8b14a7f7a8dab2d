"""Marks, models and parts. Table names are the domain's: ``mark``, ``model``, ``part``."""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F, Q
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Upper

VISIBLE = Q(is_visible=True)


class Mark(models.Model):
    name = models.CharField(max_length=100, unique=True)
    producer_country_name = models.CharField(max_length=100)
    is_visible = models.BooleanField(default=True)

    class Meta:
        db_table = "mark"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Model(models.Model):
    name = models.CharField(max_length=100)
    mark = models.ForeignKey(Mark, on_delete=models.PROTECT, related_name="models")
    is_visible = models.BooleanField(default=True)

    class Meta:
        db_table = "model"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["mark", "name"], name="model_mark_name_uniq")]

    def __str__(self) -> str:
        return self.name


class Part(models.Model):
    name = models.CharField(max_length=200)
    mark = models.ForeignKey(Mark, on_delete=models.PROTECT, related_name="parts")
    model = models.ForeignKey(Model, on_delete=models.PROTECT, related_name="parts")
    price = models.PositiveIntegerField()
    json_data = models.JSONField(default=dict, blank=True)
    is_visible = models.BooleanField(default=True)

    class Meta:
        db_table = "part"
        ordering = ["id"]
        # Every index is partial on is_visible: the search never looks at hidden
        # parts, so they cost no index space. Expressions match, letter for letter,
        # what the ORM emits (UPPER for i-lookups, ->> / -> for JSON keys) and what
        # fastapi_search/queries.py writes, or the planner could not use them.
        # Measured at 1 000 000 parts: README.md, "Indexes and the totals table".
        indexes = [
            # Query shape 1: part name + mark + colour + visible. The two equalities
            # narrow the table before the name is tested; id last so a single
            # (mark, colour) pair can also be walked in id order for a page.
            # No INCLUDE (price, name): PostgreSQL does not plan index-only scans
            # for these expression indexes (the query names json_data, which the
            # index does not hold), so carried columns only tripled the size
            # (111 MB against 66 MB at 1M parts).
            models.Index(
                F("mark"),
                Upper(KeyTextTransform("color", "json_data")),
                F("id"),
                condition=VISIBLE,
                name="part_mark_color_id_idx",
            ),
            # Query shape 2: the mark's country (resolved to mark ids) + is_new_part
            # + visible; same layout.
            models.Index(
                F("mark"),
                KeyTransform("is_new_part", "json_data"),
                F("id"),
                condition=VISIBLE,
                name="part_mark_new_id_idx",
            ),
            # Case-insensitive substring of the name (icontains is UPPER(..) LIKE
            # '%..%'), for name searches without a mark or colour to narrow them.
            GinIndex(
                OpClass(Upper("name"), name="gin_trgm_ops"),
                condition=VISIBLE,
                name="part_name_trgm_idx",
            ),
            # The rows step of a search (service_common/totals.py): every group column, then price. The
            # ids and names resolved on part_totals are equalities on the leading columns, so a page or a
            # price total reads only the matching parts, and without a colour or is_new_part filter
            # (nothing then reads json_data) as an index-only scan.
            models.Index(
                F("mark"),
                F("model"),
                F("name"),
                Upper(KeyTextTransform("color", "json_data")),
                KeyTransform("is_new_part", "json_data"),
                F("price"),
                condition=VISIBLE,
                name="part_group_price_idx",
            ),
            # Price and stock-count totals with no name filter: an index-only scan of the price range
            # (7 ms for a fifth of a million parts, against 55 ms through the table) that also tests the
            # mark and model ids it carries (a model in a narrow price window: 2.8 ms, 13.8 ms through
            # part_group_price_idx), and the few parts of one stock count.
            models.Index(fields=["price"], include=["mark", "model"], condition=VISIBLE, name="part_price_idx"),
            # The parts of a price range (or of a range's two partial bands) of a mark or a model with no name
            # filter: an index-only range. part_group_price_idx holds the price after the name, colour and
            # is_new_part, so such a range read every part of the model there (a model, 17-1 096 at a million
            # task parts: a bitmap over 200 000 entries, 13.4 ms; 0.3 ms here, EXPLAIN ANALYZE).
            models.Index(fields=["mark", "model", "price"], condition=VISIBLE, name="part_mark_model_price_idx"),
            # A stock count with the group columns after it (migration 0011): a count with a mark, model or name
            # is one narrow range. With the count alone it was a bitmap AND with the mark's 200 000 entries at
            # a million task parts; the workload's 40 bodies with a count, one at a time through Nginx: FastAPI
            # 18-19 ms to 7-9 ms a search, Django 23-29 to 8-11.
            models.Index(
                KeyTransform("count", "json_data"),
                F("mark"),
                F("model"),
                F("name"),
                F("price"),
                condition=VISIBLE,
                name="part_count_group_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class GroupTotals(models.Model):
    """The columns of a group of parts (what the search filters test: the colour upper-cased as both services
    compare it, ``is_new_part`` as the jsonb value, SQL NULL when the key is absent) and its totals."""

    mark_id = models.BigIntegerField()
    model_id = models.BigIntegerField()
    name = models.CharField(max_length=200)
    color_key = models.TextField(null=True)
    is_new_part = models.JSONField(null=True)
    parts = models.BigIntegerField()
    price_sum = models.BigIntegerField()

    class Meta:
        abstract = True


class PartTotals(GroupTotals):
    """Count and price sum of the visible parts of each group of parts that share every group column.

    Maintained by statement triggers on ``part`` (migration 0004) in the writing transaction, so it is
    exact at every snapshot; the searches read totals and the matching ids and names from here
    (service_common/totals.py). Rows are keyed by the values the search filters test: the colour
    upper-cased as both services compare it, ``is_new_part`` as the jsonb value (SQL NULL when the key
    is absent). Nothing but the triggers writes it.
    """

    class Meta:
        db_table = "part_totals"
        constraints = [
            models.UniqueConstraint(
                fields=["mark_id", "model_id", "name", "color_key", "is_new_part"],
                name="part_totals_group",
                nulls_distinct=False,
            ),
        ]
        # A search by part name or by model without a mark (migration 0008): the constraint's index leads with
        # the mark, so these would read every group. On a catalog whose groups are nearly as many as its parts
        # (the realistic profile: 729 000 groups at a million parts) that was a 600 ms scan a search. Both carry
        # the sums, so the groups of the resolved names or models are read index-only; the price is that no
        # trigger update of a group is HOT any more (autovacuum keeps the table tidy, as for the bands).
        indexes = [
            models.Index(
                fields=["name", "mark_id", "model_id", "color_key", "is_new_part"],
                include=["parts", "price_sum"],
                name="part_totals_name_idx",
            ),
            models.Index(
                fields=["model_id", "name", "color_key", "is_new_part"],
                include=["mark_id", "parts", "price_sum"],
                name="part_totals_model_idx",
            ),
        ]


class PartName(models.Model):
    """Every distinct name of a visible part (migration 0007), so that a name substring is matched against a
    few thousand names, and the groups of those names are then found by index (service_common/totals.py).

    Written by the same statement triggers as ``part_totals``; nothing else writes it. A name is added when
    a visible part first carries it and is kept when its last part goes (removed only when the catalog is
    cleared): a name without parts matches no group, so it costs an entry in an array, never a wrong total.
    """

    name = models.CharField(max_length=200, primary_key=True)

    class Meta:
        db_table = "part_names"
        # A substring's names by trigram index (migration 0012), not by reading every name; its statistics on
        # upper(name) are what the groups step's join to the names is planned with (service_common/totals.py).
        indexes = [GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="part_names_upper_trgm_idx")]


class PartColourBand(models.Model):
    """Count and price sum of the visible parts of each colour (upper-cased), ``is_new_part`` value and price
    band: the totals of a search with no mark, model or name filter (migration 0009,
    service_common/totals.py). A few thousand rows whatever the catalog's size. Maintained by the same
    statement triggers; nothing else writes it."""

    color_key = models.TextField(null=True)
    is_new_part = models.JSONField(null=True)
    band = models.IntegerField()
    parts = models.BigIntegerField()
    price_sum = models.BigIntegerField()

    class Meta:
        db_table = "part_colour_bands"
        constraints = [
            models.UniqueConstraint(
                fields=["color_key", "is_new_part", "band"],
                name="part_colour_bands_key",
                include=["parts", "price_sum"],
                nulls_distinct=False,
            ),
        ]


class PartPriceBand(GroupTotals):
    """``part_totals`` split by price band (``price / PRICE_BAND_WIDTH``, service_common/totals.py): a price
    range's totals are the bands wholly inside it plus the parts of its two partial bands. Maintained by the
    same statement triggers (migration 0006); nothing else writes it."""

    band = models.IntegerField()

    class Meta:
        db_table = "part_price_bands"
        constraints = [
            models.UniqueConstraint(
                fields=["mark_id", "model_id", "name", "color_key", "is_new_part", "band"],
                name="part_price_bands_group_band",
                include=["parts", "price_sum"],
                nulls_distinct=False,
            ),
        ]
        # Both indexes carry the sums, so a search reads band rows index-only: matching groups through the
        # constraint's index, a price range with no group filter through this one.
        indexes = [
            models.Index(
                fields=["band"],
                include=["parts", "price_sum", "color_key", "is_new_part"],
                name="part_price_bands_band_idx",
            ),
        ]
