"""The parts search over an asyncpg connection: two or three statements, no ORM."""

from __future__ import annotations

import asyncpg

from fastapi_search.queries import part_groups, part_price_totals, part_search_page, part_search_totals
from search_contract import PartFilters
from search_contract.page import SearchPage, search_page
from service_common.totals import price_split, totals_need_rows


async def part_search(connection: asyncpg.Connection, *, filters: PartFilters) -> SearchPage:
    """One page of matches in id order, with count and price sum of all matches.

    Two steps (service_common/totals.py): the matching groups, then the parts.
    """
    statement = part_groups(filters)
    groups = await connection.fetchrow(statement.sql, *statement.arguments)
    count, summ = groups["count"], groups["summ"]
    rows: list[asyncpg.Record] = []
    if count:
        split = price_split(filters, count)
        totals = None
        if split is not None:
            statement = part_price_totals(filters, groups, split)
            totals = await connection.fetchrow(statement.sql, *statement.arguments)
        elif totals_need_rows(filters):
            statement = part_search_totals(filters, groups)
            totals = await connection.fetchrow(statement.sql, *statement.arguments)
        if totals is not None:
            count, summ = totals["count"], totals["summ"]
        if filters.offset < count:
            statement = part_search_page(filters, groups)
            rows = await connection.fetch(statement.sql, *statement.arguments)
    return search_page(rows=rows, count=count, summ=summ, page=filters.page)
