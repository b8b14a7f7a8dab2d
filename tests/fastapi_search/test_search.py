"""FastAPI specifics: LIKE escaping, and that the one catch-all statement still uses the indexes.

The trigram index is left out here: on 3 000 rows the planner rightly prefers
other plans for it; README.md shows it used at 1 000 000 parts.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from fastapi_search.queries import PART_SEARCH_PAGE, PART_SEARCH_TOTALS
from fastapi_search.search import like_pattern, match_arguments
from search_contract import PartFilters


@pytest.mark.parametrize(
    ("text", "pattern"),
    [("бамп", "%бамп%"), ("100%", "%100\\%%"), ("a_b", "%a\\_b%"), ("back\\slash", "%back\\\\slash%")],
)
def test_like_pattern_escapes_wildcards(text: str, pattern: str) -> None:
    assert like_pattern(text) == pattern


def test_arguments_follow_statement_order() -> None:
    filters = PartFilters(
        mark_name="m",
        producer_country_name="c",
        mark_ids=(1,),
        model_name="d",
        model_ids=(2,),
        part_name="p",
        color="k",
        is_new_part=True,
        count=3,
        price_gte=4,
        price_lte=5,
    )
    assert match_arguments(filters) == ("m", "c", (1,), "d", (2,), "%p%", "k", True, 3, 4, 5)


async def _explain(database_url: str, sql: str, arguments: tuple[Any, ...]) -> str:
    connection = await asyncpg.connect(database_url, server_settings={"plan_cache_mode": "force_custom_plan"})
    try:
        await connection.execute("SET enable_seqscan = off")  # a 3 000-row table would rather seq-scan
        await connection.set_type_codec("jsonb", schema="pg_catalog", encoder=str, decoder=str)
        rows = await connection.fetch(f"EXPLAIN {sql}", *arguments)
        return "\n".join(row[0] for row in rows)
    finally:
        await connection.close()


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        (PartFilters(mark_name="Honda", part_name="бамп", color="черный"), "part_mark_color_id_idx"),
        (PartFilters(producer_country_name="Япония", is_new_part=True), "part_mark_new_id_idx"),
    ],
)
def test_custom_plans_reach_the_partial_indexes(database_url: str, filters: PartFilters, index: str) -> None:
    arguments = match_arguments(filters)
    # jsonb parameters go as text here (the codec above), as the service's codec would encode them.
    arguments = tuple("true" if value is True else value for value in arguments)
    plan = asyncio.run(_explain(database_url, PART_SEARCH_TOTALS, arguments))
    assert index in plan, plan
    page_plan = asyncio.run(_explain(database_url, PART_SEARCH_PAGE, (*arguments, 0)))
    assert "Seq Scan on part" not in page_plan, page_plan
