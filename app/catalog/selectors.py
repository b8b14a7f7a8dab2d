"""Reads of the catalog: the parts search and the mark and model lists."""

from __future__ import annotations

from typing import Any, TypedDict

from django.db.models import Count, QuerySet, Sum

from catalog.models import Mark, Model, Part
from search_contract import PAGE_SIZE, PartFilters


class SearchPage(TypedDict):
    response: list[dict[str, Any]]
    count: int
    summ: int
    page: int


PAGE_FIELDS = (
    "id",
    "name",
    "json_data",
    "price",
    "mark_id",
    "mark__name",
    "mark__producer_country_name",
    "model_id",
    "model__name",
)


def part_matches(*, filters: PartFilters) -> QuerySet[Part]:
    """Visible parts matching every given filter.

    Mark, model and country filters are ``IN (SELECT id ...)`` subqueries rather
    than joins, so counting matches never joins; fastapi_search/queries.py writes
    the same SQL by hand.
    """
    parts = Part.objects.filter(is_visible=True)
    if filters.mark_name is not None:
        parts = parts.filter(mark__in=Mark.objects.filter(name__iexact=filters.mark_name).values("id"))
    if filters.producer_country_name is not None:
        country = Mark.objects.filter(producer_country_name__iexact=filters.producer_country_name)
        parts = parts.filter(mark__in=country.values("id"))
    if filters.mark_ids is not None:
        parts = parts.filter(mark_id__in=filters.mark_ids)
    if filters.model_name is not None:
        parts = parts.filter(model__in=Model.objects.filter(name__iexact=filters.model_name).values("id"))
    if filters.model_ids is not None:
        parts = parts.filter(model_id__in=filters.model_ids)
    if filters.part_name is not None:
        parts = parts.filter(name__icontains=filters.part_name)
    if filters.color is not None:
        parts = parts.filter(json_data__color__iexact=filters.color)
    if filters.is_new_part is not None:
        parts = parts.filter(json_data__is_new_part=filters.is_new_part)
    if filters.count is not None:
        parts = parts.filter(json_data__count=filters.count)
    if filters.price_gte is not None:
        parts = parts.filter(price__gte=filters.price_gte)
    if filters.price_lte is not None:
        parts = parts.filter(price__lte=filters.price_lte)
    return parts


def _part_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "mark": {
            "id": row["mark_id"],
            "name": row["mark__name"],
            "producer_country_name": row["mark__producer_country_name"],
        },
        "model": {"id": row["model_id"], "name": row["model__name"]},
        "name": row["name"],
        "json_data": row["json_data"],
        "price": row["price"],
    }


def part_search(*, filters: PartFilters) -> SearchPage:
    """One page of matches in id order, with count and price sum of all matches.

    Both totals are computed by PostgreSQL in one aggregate query; rows are only
    loaded for the page itself.
    """
    matches = part_matches(filters=filters)
    totals = matches.aggregate(count=Count("id"), summ=Sum("price", default=0))
    rows = matches.order_by("id").values(*PAGE_FIELDS)[filters.offset : filters.offset + PAGE_SIZE]
    return {
        "response": [_part_json(row) for row in rows],
        "count": totals["count"],
        "summ": totals["summ"],
        "page": filters.page,
    }


def mark_list() -> list[dict[str, Any]]:
    marks = Mark.objects.filter(is_visible=True).order_by("id").values("id", "name", "producer_country_name")
    return [dict(row) for row in marks]


def model_list() -> list[dict[str, Any]]:
    models = Model.objects.filter(is_visible=True).order_by("id").values("id", "name", "mark_id", "mark__name")
    return [
        {"id": row["id"], "name": row["name"], "mark": {"id": row["mark_id"], "name": row["mark__name"]}}
        for row in models
    ]
