"""FastAPI specifics: LIKE escaping, argument order, and that the catch-all statements still use the indexes.

The trigram index is left out here: on 3 000 rows the planner rightly prefers
other plans for it; README.md shows it used at 1 000 000 parts.
"""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from fastapi_search.queries import PART_GROUPS, PART_SEARCH_PAGE, PART_SEARCH_TOTALS
from fastapi_search.search import group_arguments, like_pattern, match_arguments
from search_contract import PartFilters
from search_contract.totals import NAME_CHOICES_LIMIT


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
    assert group_arguments(filters) == ("m", "c", (1,), "d", (2,), "%p%", "k", True, True, True)
    assert group_arguments(PartFilters(color="k"))[8:] == (False, False)
    groups = {"marks": [1], "models": [2], "names": ["p1", "p2"]}
    assert match_arguments(filters, groups) == ([1], [2], ["p1", "p2"], None, "k", True, 3, 4, 5)


def test_without_group_filters_nothing_is_narrowed_and_many_names_fall_back_to_the_substring() -> None:
    groups = {"marks": [1, 2], "models": [3, 4], "names": [f"n{i}" for i in range(NAME_CHOICES_LIMIT + 1)]}
    assert match_arguments(PartFilters(color="k"), groups)[:4] == (None, None, None, None)
    assert match_arguments(PartFilters(part_name="n"), groups)[:4] == ([1, 2], [3, 4], None, "%n%")


async def _plans(database_url: str, filters: PartFilters) -> tuple[str, str]:
    """EXPLAIN of the rows step's totals and page, with the groups the first step resolves."""
    connection = await asyncpg.connect(database_url, server_settings={"plan_cache_mode": "force_custom_plan"})
    try:
        await connection.execute("SET enable_seqscan = off")  # a 3 000-row table would rather seq-scan
        # jsonb parameters as JSON text, as the service's codec encodes them.
        await connection.set_type_codec("jsonb", schema="pg_catalog", encoder=json.dumps, decoder=str)
        groups = await connection.fetchrow(PART_GROUPS, *group_arguments(filters))
        assert groups is not None and groups["count"] > 0
        arguments = match_arguments(filters, groups)
        plans = []
        for sql, extra in ((PART_SEARCH_TOTALS, ()), (PART_SEARCH_PAGE, (0,))):
            rows = await connection.fetch(f"EXPLAIN {sql}", *arguments, *extra)
            plans.append("\n".join(row[0] for row in rows))
        return plans[0], plans[1]
    finally:
        await connection.close()


@pytest.mark.parametrize(
    "filters",
    [
        PartFilters(mark_name="Honda", part_name="бамп", color="черный", price_lte=50_000),
        PartFilters(model_name="Camry", part_name="фара", is_new_part=True, price_gte=1_000),
    ],
)
def test_custom_plans_reach_the_group_index(database_url: str, filters: PartFilters) -> None:
    totals_plan, page_plan = asyncio.run(_plans(database_url, filters))
    assert "part_group_price_idx" in totals_plan, totals_plan
    assert "Seq Scan on part" not in page_plan, page_plan
