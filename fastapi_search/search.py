"""The parts search over an asyncpg connection: two or three statements, no ORM."""

from __future__ import annotations

from typing import Any

import asyncpg

from fastapi_search.queries import PART_GROUPS, PART_PRICE_TOTALS, PART_SEARCH_PAGE, PART_SEARCH_TOTALS
from search_contract import PartFilters
from search_contract.page import SearchPage, search_page
from search_contract.totals import name_choices, narrows_marks_and_models, price_split, totals_need_rows


def like_pattern(text: str) -> str:
    """A LIKE pattern for "contains ``text``", with LIKE's own wildcards escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def group_arguments(filters: PartFilters) -> tuple[Any, ...]:
    """The values of ``$1``..``$10`` of ``PART_GROUPS``, in order."""
    return (
        filters.mark_name,
        filters.producer_country_name,
        filters.mark_ids,
        filters.model_name,
        filters.model_ids,
        None if filters.part_name is None else like_pattern(filters.part_name),
        filters.color,
        filters.is_new_part,
        narrows_marks_and_models(filters),
        filters.part_name is not None,
    )


def match_arguments(filters: PartFilters, groups: asyncpg.Record) -> tuple[Any, ...]:
    """The values of ``$1``..``$9`` of ``PART_MATCH``, from the filters and the resolved ``groups``."""
    narrow = narrows_marks_and_models(filters)
    names = name_choices(filters, groups["names"])
    pattern = None if filters.part_name is None or names is not None else like_pattern(filters.part_name)
    return (
        groups["marks"] if narrow else None,
        groups["models"] if narrow else None,
        names,
        pattern,
        filters.color,
        filters.is_new_part,
        filters.count,
        filters.price_gte,
        filters.price_lte,
    )


async def part_search(connection: asyncpg.Connection, *, filters: PartFilters) -> SearchPage:
    """One page of matches in id order, with count and price sum of all matches.

    Two steps (search_contract/totals.py): the matching groups, then the parts.
    """
    groups = await connection.fetchrow(PART_GROUPS, *group_arguments(filters))
    count, summ = groups["count"], groups["summ"]
    rows: list[asyncpg.Record] = []
    if count:
        arguments = match_arguments(filters, groups)
        split = price_split(filters, count)
        totals = None
        if split is not None:
            # PART_MATCH's own price bounds off: the bands and the two edges bound the price.
            totals = await connection.fetchrow(
                PART_PRICE_TOTALS,
                *arguments[:7],
                None,
                None,
                split.first_band,
                split.last_band,
                *split.low_edge,
                *split.high_edge,
            )
        elif totals_need_rows(filters):
            totals = await connection.fetchrow(PART_SEARCH_TOTALS, *arguments)
        if totals is not None:
            count, summ = totals["count"], totals["summ"]
        if filters.offset < count:
            rows = await connection.fetch(PART_SEARCH_PAGE, *arguments, filters.offset)
    return search_page(rows=rows, count=count, summ=summ, page=filters.page)
