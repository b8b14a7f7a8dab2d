"""Reads of the catalog: the parts search and the mark and model lists."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib.postgres.aggregates import ArrayAgg
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Count, F, QuerySet, Sum, Value
from django.db.models.functions import Upper

from catalog.models import Mark, Model, Part, PartColourBand, PartName, PartPriceBand, PartTotals
from search_contract import PAGE_SIZE, PartFilters
from search_contract.page import PART_ROW_COLUMNS, SearchPage, search_page
from service_common.totals import PriceSplit, name_choices, narrows_marks_and_models, price_split, totals_need_rows

# The page's columns under the names search_contract.page reads: the related ones renamed in SQL (AS).
PAGE_COLUMNS: dict[str, F] = {
    "mark_name": F("mark__name"),
    "producer_country_name": F("mark__producer_country_name"),
    "model_name": F("model__name"),
}
PAGE_FIELDS = tuple(column for column in PART_ROW_COLUMNS if column not in PAGE_COLUMNS)

RowModel = TypeVar("RowModel", Part, PartPriceBand)
TotalsModel = TypeVar("TotalsModel", PartTotals, PartPriceBand, PartColourBand)


def _colour_and_newness(rows: QuerySet[TotalsModel], filters: PartFilters) -> QuerySet[TotalsModel]:
    """The colour and is_new_part filters on a table of totals, which holds the colour upper-cased."""
    if filters.color is not None:
        rows = rows.filter(color_key=Upper(Value(filters.color)))
    if filters.is_new_part is not None:
        rows = rows.filter(is_new_part=filters.is_new_part)
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
    ...))`` (catalog/lookups.py says why not ``IN (SELECT ...)``); a name substring is matched on
    ``part_names``; the colour is compared upper-cased, as the group holds it.
    """
    groups = PartTotals.objects.all()
    if filters.mark_name is not None:
        marks = Mark.objects.filter(name__iexact=filters.mark_name)
        groups = groups.filter(mark_id__any_of=ArraySubquery(marks.order_by().values("id")))
    if filters.producer_country_name is not None:
        country = Mark.objects.filter(producer_country_name__iexact=filters.producer_country_name)
        groups = groups.filter(mark_id__any_of=ArraySubquery(country.order_by().values("id")))
    if filters.mark_ids is not None:
        groups = groups.filter(mark_id__in=filters.mark_ids)
    if filters.model_name is not None:
        models = Model.objects.filter(name__iexact=filters.model_name)
        groups = groups.filter(model_id__any_of=ArraySubquery(models.order_by().values("id")))
    if filters.model_ids is not None:
        groups = groups.filter(model_id__in=filters.model_ids)
    if filters.part_name is not None:
        # The substring against the distinct names, then the groups of those names by index.
        names = PartName.objects.filter(name__icontains=filters.part_name)
        groups = groups.filter(name__any_of=ArraySubquery(names.values("name")))
    return groups


def _in_resolved_groups(rows: QuerySet[RowModel], filters: PartFilters, resolved: dict[str, Any]) -> QuerySet[RowModel]:
    """Parts or band rows narrowed to the mark and model ids and the names the groups step resolved (or to the
    name substring itself, when too many names matched to send them): columns both tables have."""
    # Each array is one parameter (``= ANY(%s)``, as FastAPI sends it), not ``IN`` with a placeholder per value:
    # a name alone resolves to up to every model (`ARM`, one search at a time on the realistic million: 185 ms with
    # a placeholder a value, 108 ms with one array).
    if narrows_marks_and_models(filters):
        rows = rows.filter(mark_id__any_of=resolved["marks"], model_id__any_of=resolved["models"])
    names = name_choices(filters, resolved.get("names", []))
    if names is not None:
        rows = rows.filter(name__any_of=names)
    elif filters.part_name is not None:
        rows = rows.filter(name__icontains=filters.part_name)
    return rows


def _matching_parts(filters: PartFilters, resolved: dict[str, Any], *, price: bool = True) -> QuerySet[Part]:
    """The visible parts of the ``resolved`` groups that pass every filter (the price bounds only with
    ``price``).

    The ids and names are plain values, so PostgreSQL estimates them from its statistics; the colour
    and JSON expressions are the ones the indexes of catalog/models.py hold, letter for letter.
    """
    parts = _in_resolved_groups(Part.objects.filter(is_visible=True), filters, resolved)
    if filters.color is not None:
        parts = parts.filter(json_data__color__iexact=filters.color)
    if filters.is_new_part is not None:
        parts = parts.filter(json_data__is_new_part=filters.is_new_part)
    if filters.count is not None:
        parts = parts.filter(json_data__count=filters.count)
    if price and filters.price_gte is not None:
        parts = parts.filter(price__gte=filters.price_gte)
    if price and filters.price_lte is not None:
        parts = parts.filter(price__lte=filters.price_lte)
    return parts


def _price_totals(filters: PartFilters, resolved: dict[str, Any], split: PriceSplit) -> tuple[int, int]:
    """count and summ of a price filter (service_common/totals.py, "Price bands"): the bands wholly inside
    the range of the matching groups, plus the parts of its two partial bands."""
    whole: QuerySet[PartPriceBand] | QuerySet[PartColourBand]
    if narrows_marks_and_models(filters):
        whole = _colour_and_newness(_in_resolved_groups(PartPriceBand.objects.all(), filters, resolved), filters)
    else:
        whole = _colour_and_newness(PartColourBand.objects.all(), filters)
    count, summ = 0, 0
    # A range inside one band has no whole band: no query for it (a round trip and a plan saved).
    if split.first_band <= split.last_band:
        bands = whole.filter(band__gte=split.first_band, band__lte=split.last_band)
        inside = bands.aggregate(count=Sum("parts", default=0), summ=Sum("price_sum", default=0))
        # sum() of a bigint column is numeric in PostgreSQL, a Decimal here.
        count, summ = int(inside["count"]), int(inside["summ"])
    # Each edge on its own: an index-only range (an OR of the two would be a bitmap scan of the table).
    parts = _matching_parts(filters, resolved, price=False)
    for low, high in (split.low_edge, split.high_edge):
        if low <= high:
            edge = parts.filter(price__range=(low, high)).aggregate(count=Count("*"), summ=Sum("price", default=0))
            count, summ = count + edge["count"], summ + int(edge["summ"])
    return count, summ


def part_search(*, filters: PartFilters) -> SearchPage:
    """One page of matches in id order, with count and price sum of all matches.

    Two steps (service_common/totals.py): the matching groups of ``part_totals`` give the totals and
    the ids and names to look for; the page is then read from ``part`` with those as plain values, and so
    are the totals of a stock-count filter; a price filter's come from ``part_price_bands`` and the parts
    of the range's two partial bands.
    """
    # Only the arrays the rows step will use: each DISTINCT array is a sort.
    arrays: dict[str, ArrayAgg] = {}
    if narrows_marks_and_models(filters):
        arrays["marks"] = ArrayAgg("mark_id", distinct=True, default=[])
        arrays["models"] = ArrayAgg("model_id", distinct=True, default=[])
    if filters.part_name is not None:
        arrays["names"] = ArrayAgg("name", distinct=True, default=[])
    resolved = _matching_groups(filters).aggregate(
        count=Sum("parts", default=0), summ=Sum("price_sum", default=0), **arrays
    )
    # sum() of a bigint column is numeric in PostgreSQL, a Decimal here.
    count, summ = int(resolved["count"]), int(resolved["summ"])
    rows: list[dict[str, Any]] = []
    if count:
        parts = _matching_parts(filters, resolved)
        split = price_split(filters, count)
        if split is not None:
            count, summ = _price_totals(filters, resolved, split)
        elif totals_need_rows(filters):
            # count(*), not count(id): the price range is then an index-only scan of part_price_idx.
            totals = parts.aggregate(count=Count("*"), summ=Sum("price", default=0))
            count, summ = totals["count"], totals["summ"]
        if filters.offset < count:
            ordered = parts.order_by("id").values(*PAGE_FIELDS, **PAGE_COLUMNS)
            rows = list(ordered[filters.offset : filters.offset + PAGE_SIZE])
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
