"""The parts search over an asyncpg connection: two statements, no ORM."""

from __future__ import annotations

from typing import Any

import asyncpg

from fastapi_search.queries import PART_SEARCH_PAGE, PART_SEARCH_TOTALS
from search_contract import PartFilters


def like_pattern(text: str) -> str:
    """A LIKE pattern for "contains ``text``", with LIKE's own wildcards escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def match_arguments(filters: PartFilters) -> tuple[Any, ...]:
    """The values of ``$1``..``$11`` of ``PART_MATCH``, in order."""
    return (
        filters.mark_name,
        filters.producer_country_name,
        filters.mark_ids,
        filters.model_name,
        filters.model_ids,
        None if filters.part_name is None else like_pattern(filters.part_name),
        filters.color,
        filters.is_new_part,
        filters.count,
        filters.price_gte,
        filters.price_lte,
    )


def _part_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "mark": {
            "id": row["mark_id"],
            "name": row["mark_name"],
            "producer_country_name": row["producer_country_name"],
        },
        "model": {"id": row["model_id"], "name": row["model_name"]},
        "name": row["name"],
        "json_data": row["json_data"],
        "price": row["price"],
    }


async def part_search(connection: asyncpg.Connection, *, filters: PartFilters) -> dict[str, Any]:
    """One page of matches in id order, with count and price sum of all matches."""
    arguments = match_arguments(filters)
    totals = await connection.fetchrow(PART_SEARCH_TOTALS, *arguments)
    rows = await connection.fetch(PART_SEARCH_PAGE, *arguments, filters.offset)
    return {
        "response": [_part_json(row) for row in rows],
        "count": totals["count"],
        "summ": totals["summ"],
        "page": filters.page,
    }
