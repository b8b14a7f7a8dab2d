"""Reads of the catalog: the parts search and the mark and model lists."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from django.contrib.postgres.aggregates import ArrayAgg
from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import (
    BigIntegerField,
    CharField,
    Count,
    Field,
    IntegerField,
    JSONField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Upper

from catalog.models import Mark, Model, Part, PartColourBand, PartName, PartPriceBand, PartTotals
from catalog.statements import Slot, compiled
from search_contract import PAGE_SIZE, PartFilters
from search_contract.page import PART_ROW_COLUMNS, SearchPage, search_page
from service_common.totals import (
    PriceSplit,
    groups_joined,
    name_choices,
    narrows_marks_and_models,
    price_split,
    totals_need_rows,
)


def _by_key(model: type[Mark] | type[Model], key: str, column: str) -> Subquery:
    """``column`` of the ``model`` row whose primary key is the part's ``key``: one value per row returned."""
    return Subquery(model.objects.filter(pk=OuterRef(key)).order_by().values(column))


# The page's columns under the names search_contract.page reads: the related ones renamed in SQL (AS), each a
# subquery by primary key rather than a join. PostgreSQL evaluates them for the ten rows after the LIMIT, and the
# statement plans as one table: joined, the planner weighed the joins for every match it might read, and planning
# was most of the statement's cost (the task's workload, each page statement explained: 0.35 ms planned and 0.74
# executed at a million parts, 0.31 and 0.09 at 10 000; with subqueries 0.15 and 0.83, 0.13 and 0.19). FastAPI
# joins after the LIMIT instead, which the ORM cannot write (fastapi_search/queries.py).
PAGE_COLUMNS: dict[str, Subquery] = {
    "mark_name": _by_key(Mark, "mark_id", "name"),
    "producer_country_name": _by_key(Mark, "mark_id", "producer_country_name"),
    "model_name": _by_key(Model, "model_id", "name"),
}
PAGE_FIELDS = tuple(column for column in PART_ROW_COLUMNS if column not in PAGE_COLUMNS)

RowModel = TypeVar("RowModel", Part, PartPriceBand)
TotalsModel = TypeVar("TotalsModel", PartTotals, PartPriceBand, PartColourBand)

# The filters whose presence makes a search's shape (catalog/statements.py): every statement's text depends on
# which of them a search has, and on nothing else but the few choices the values lead to (the names sent or
# the substring tested, the whole bands of a price range), which each statement's key adds. Read from the
# contract's own fields, so a filter added there cannot be left out of the key (the page is a slot, not shape).
FILTERS = tuple(item.name for item in fields(PartFilters) if item.name != "page")
_TEXT = CharField()
_IDS = ArrayField(BigIntegerField())
_JSON = JSONField()
_INTEGER = IntegerField()
# Each value a statement takes, by name, with the field that prepares it for the database.
_SLOT_FIELDS: dict[str, Field[Any, Any]] = {
    "mark_name": _TEXT,
    "model_name": _TEXT,
    "producer_country_name": _TEXT,
    "part_name": _TEXT,
    "color": _TEXT,
    "mark_ids": _IDS,
    "model_ids": _IDS,
    "marks": _IDS,
    "models": _IDS,
    "names": ArrayField(CharField(max_length=200)),
    "is_new_part": _JSON,
    "count": _JSON,
    "price_gte": _INTEGER,
    "price_lte": _INTEGER,
    "first_band": _INTEGER,
    "last_band": _INTEGER,
    "low": _INTEGER,
    "high": _INTEGER,
    "offset": _INTEGER,
}
# The page's json_data arrives as text (Django loads jsonb as text); its field decodes it, as the ORM does.
_JSON_DATA: Any = Part._meta.get_field("json_data")


def _slot(name: str) -> Slot:
    return Slot(name, _SLOT_FIELDS[name])


def _shape(filters: PartFilters) -> tuple[bool, ...]:
    """Which filters the search has: the key of its statements, with the statement's kind."""
    return tuple(getattr(filters, name) is not None for name in FILTERS)


# The builders below take the search's filters only to see which are there: every value is a slot.


def _colour_and_newness(rows: QuerySet[TotalsModel], filters: PartFilters) -> QuerySet[TotalsModel]:
    """The colour and is_new_part filters on a table of totals, which holds the colour upper-cased."""
    if filters.color is not None:
        rows = rows.filter(color_key=Upper(_slot("color")))
    if filters.is_new_part is not None:
        rows = rows.filter(is_new_part=_slot("is_new_part"))
    return rows


def _matching_groups(filters: PartFilters) -> QuerySet[PartTotals] | QuerySet[PartColourBand]:
    """The totals rows whose parts pass the mark, model, name, colour and is_new_part filters:
    ``part_colour_bands`` without a mark, model or name filter (service_common/totals.py), else the groups."""
    if not narrows_marks_and_models(filters):
        return _colour_and_newness(PartColourBand.objects.all(), filters)
    return _colour_and_newness(_named_groups(filters), filters)


def _named_groups(filters: PartFilters) -> QuerySet[PartTotals]:
    """The groups of ``part_totals`` whose parts pass the mark, model, name, colour and is_new_part filters.

    Mark, model, country and name filters are each resolved once, before the scan, as ``= ANY(ARRAY(SELECT
    ...))`` (catalog/lookups.py says why not always ``IN (SELECT ...)``), or joined as ``IN (SELECT ...)`` when
    a name substring comes with one of the others (service_common/totals.py, "Part names"); a name substring
    is matched on ``part_names``; the colour is compared upper-cased, as the group holds it.
    """
    joined = groups_joined(filters)

    def one_of(groups: QuerySet[PartTotals], column: str, found: QuerySet[Any]) -> QuerySet[PartTotals]:
        if joined:
            return groups.filter(**{f"{column}__in": found})
        return groups.filter(**{f"{column}__any_of": ArraySubquery(found)})

    groups = PartTotals.objects.all()
    if filters.mark_name is not None:
        marks = Mark.objects.filter(name__iexact=_slot("mark_name"))
        groups = one_of(groups, "mark_id", marks.order_by().values("id"))
    if filters.producer_country_name is not None:
        country = Mark.objects.filter(producer_country_name__iexact=_slot("producer_country_name"))
        groups = one_of(groups, "mark_id", country.order_by().values("id"))
    if filters.mark_ids is not None:
        groups = groups.filter(mark_id__any_of=_slot("mark_ids"))
    if filters.model_name is not None:
        models = Model.objects.filter(name__iexact=_slot("model_name"))
        groups = one_of(groups, "model_id", models.order_by().values("id"))
    if filters.model_ids is not None:
        groups = groups.filter(model_id__any_of=_slot("model_ids"))
    if filters.part_name is not None:
        # The substring against the distinct names, then the groups of those names by index.
        names = PartName.objects.filter(name__icontains=_slot("part_name"))
        groups = one_of(groups, "name", names.values("name"))
    return groups


def _in_resolved_groups(rows: QuerySet[RowModel], filters: PartFilters, *, names_sent: bool) -> QuerySet[RowModel]:
    """Parts or band rows narrowed to the mark and model ids and the names the groups step resolved (or to the
    name substring itself, when too many names matched to send them): columns both tables have."""
    # Each array is one parameter (``= ANY(%s)``, as FastAPI sends it), not ``IN`` with a placeholder per value:
    # a name alone resolves to up to every model (`ARM`, one search at a time on the realistic million: 185 ms with
    # a placeholder a value, 108 ms with one array).
    if narrows_marks_and_models(filters):
        rows = rows.filter(mark_id__any_of=_slot("marks"), model_id__any_of=_slot("models"))
    if names_sent:
        rows = rows.filter(name__any_of=_slot("names"))
    elif filters.part_name is not None:
        rows = rows.filter(name__icontains=_slot("part_name"))
    return rows


def _matching_parts(filters: PartFilters, *, names_sent: bool, price: bool = True) -> QuerySet[Part]:
    """The visible parts of the resolved groups that pass every filter (the price bounds only with
    ``price``).

    The ids and names are plain values, so PostgreSQL estimates them from its statistics; the colour
    and JSON expressions are the ones the indexes of catalog/models.py hold, letter for letter.
    """
    parts = _in_resolved_groups(Part.objects.filter(is_visible=True), filters, names_sent=names_sent)
    if filters.color is not None:
        parts = parts.filter(json_data__color__iexact=_slot("color"))
    if filters.is_new_part is not None:
        parts = parts.filter(json_data__is_new_part=_slot("is_new_part"))
    if filters.count is not None:
        parts = parts.filter(json_data__count=_slot("count"))
    if price and filters.price_gte is not None:
        parts = parts.filter(price__gte=_slot("price_gte"))
    if price and filters.price_lte is not None:
        parts = parts.filter(price__lte=_slot("price_lte"))
    return parts


def _whole_bands(filters: PartFilters, *, names_sent: bool) -> dict[str, Any]:
    """The sums of the bands wholly inside a price range, of the matching groups (an ``aggregate()``)."""
    whole: QuerySet[PartPriceBand] | QuerySet[PartColourBand]
    if narrows_marks_and_models(filters):
        whole = _colour_and_newness(
            _in_resolved_groups(PartPriceBand.objects.all(), filters, names_sent=names_sent), filters
        )
    else:
        whole = _colour_and_newness(PartColourBand.objects.all(), filters)
    bands = whole.filter(band__gte=_slot("first_band"), band__lte=_slot("last_band"))
    return bands.aggregate(count=Sum("parts", default=0), summ=Sum("price_sum", default=0))


def _price_totals(
    filters: PartFilters, values: dict[str, Any], split: PriceSplit, *, shape: tuple[bool, ...], names_sent: bool
) -> tuple[int, int]:
    """count and summ of a price filter (service_common/totals.py, "Price bands"): the bands wholly inside
    the range of the matching groups, plus the parts of its two partial bands."""
    key = (shape, names_sent)
    count, summ = 0, 0
    # A range inside one band has no whole band: no statement for it (a round trip and a plan saved).
    if split.first_band <= split.last_band:
        bands = compiled(("bands", *key), lambda: _whole_bands(filters, names_sent=names_sent))
        # sum() of a bigint column is numeric in PostgreSQL, a Decimal here.
        inside = bands.one({**values, "first_band": split.first_band, "last_band": split.last_band})
        count, summ = int(inside["count"]), int(inside["summ"])
    # Each edge on its own, the same statement: an index-only range (an OR of the two would be a bitmap scan of
    # the table).
    edge = compiled(
        ("edge", *key),
        lambda: (
            _matching_parts(filters, names_sent=names_sent, price=False)
            .filter(price__range=(_slot("low"), _slot("high")))
            .aggregate(count=Count("*"), summ=Sum("price", default=0))
        ),
    )
    for low, high in (split.low_edge, split.high_edge):
        if low <= high:
            sums = edge.one({**values, "low": low, "high": high})
            count, summ = count + int(sums["count"]), summ + int(sums["summ"])
    return count, summ


def _groups_step(filters: PartFilters) -> dict[str, Any]:
    """The totals of the matching groups, and the arrays the rows step will use (each DISTINCT array is a
    sort: only those)."""
    arrays: dict[str, ArrayAgg] = {}
    if narrows_marks_and_models(filters):
        arrays["marks"] = ArrayAgg("mark_id", distinct=True, default=[])
        arrays["models"] = ArrayAgg("model_id", distinct=True, default=[])
    if filters.part_name is not None:
        arrays["names"] = ArrayAgg("name", distinct=True, default=[])
    sums = {"count": Sum("parts", default=0), "summ": Sum("price_sum", default=0)}
    return _matching_groups(filters).aggregate(**sums, **arrays)


def _page_step(filters: PartFilters, *, names_sent: bool) -> list[dict[str, Any]]:
    """The first page of matches in id order (a ``list()``; catalog/statements.py adds the OFFSET)."""
    ordered = _matching_parts(filters, names_sent=names_sent).order_by("id").values(*PAGE_FIELDS, **PAGE_COLUMNS)
    return list(ordered[:PAGE_SIZE])


def part_search(*, filters: PartFilters) -> SearchPage:
    """One page of matches in id order, with count and price sum of all matches.

    Two steps (service_common/totals.py): the matching groups of ``part_totals`` give the totals and
    the ids and names to look for; the page is then read from ``part`` with those as plain values, and so
    are the totals of a stock-count filter; a price filter's come from ``part_price_bands`` and the parts
    of the range's two partial bands. Each statement is compiled once per shape (catalog/statements.py).
    """
    shape = _shape(filters)
    values: dict[str, Any] = {name: getattr(filters, name) for name in FILTERS}
    resolved = compiled(("groups", shape), lambda: _groups_step(filters)).one(values)
    # sum() of a bigint column is numeric in PostgreSQL, a Decimal here.
    count, summ = int(resolved["count"]), int(resolved["summ"])
    rows: list[dict[str, Any]] = []
    if count:
        names = name_choices(filters, resolved.get("names", []))
        names_sent = names is not None
        values.update(marks=resolved.get("marks"), models=resolved.get("models"), names=names)
        split = price_split(filters, count)
        if split is not None:
            count, summ = _price_totals(filters, values, split, shape=shape, names_sent=names_sent)
        elif totals_need_rows(filters):
            # count(*), not count(id): the price range is then an index-only scan of part_price_idx.
            totals = compiled(
                ("totals", shape, names_sent),
                lambda: _matching_parts(filters, names_sent=names_sent).aggregate(
                    count=Count("*"), summ=Sum("price", default=0)
                ),
            ).one(values)
            count, summ = int(totals["count"]), int(totals["summ"])
        if filters.offset < count:
            page = compiled(
                ("page", shape, names_sent), lambda: _page_step(filters, names_sent=names_sent), offset=_slot("offset")
            )
            columns, found = page.run({**values, "offset": filters.offset})
            rows = [dict(zip(columns, row, strict=True)) for row in found]
            for row in rows:
                row["json_data"] = _JSON_DATA.from_db_value(row["json_data"], None, connection)
    return search_page(rows=rows, count=count, summ=summ, page=filters.page)


def mark_list() -> list[dict[str, Any]]:
    marks = Mark.objects.filter(is_visible=True).order_by("id").values("id", "name", "producer_country_name")
    return [dict(row) for row in marks]


def model_list() -> list[dict[str, Any]]:
    models = Model.objects.filter(is_visible=True).order_by("id").values("id", "name", "mark_id", "mark__name")
    return [
        {"id": row["id"], "name": row["name"], "mark": {"id": row["mark_id"], "name": row["mark__name"]}}
        for row in models
    ]
