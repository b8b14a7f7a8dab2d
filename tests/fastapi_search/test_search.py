"""FastAPI specifics: LIKE escaping, statements shaped by the filters given, and that their plans still use
the indexes.

The trigram index is left out here: on 3 000 rows the planner rightly prefers
other plans for it; README.md shows it used at 1 000 000 parts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from typing import Any

import asyncpg
import pytest

from fastapi_search.queries import (
    Statement,
    like_pattern,
    part_groups,
    part_price_totals,
    part_search_page,
    part_search_totals,
)
from search_contract import PartFilters
from service_common.totals import NAME_CHOICES_LIMIT, PriceSplit

EVERY_FILTER = PartFilters(
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
GROUPS: dict[str, Any] = {"marks": [1], "models": [2], "names": ["p1", "p2"]}
SPLIT = PriceSplit(first_band=1, last_band=2, low_edge=(4, 999), high_edge=(3000, 3005))


def _statements(filters: PartFilters, groups: dict[str, Any]) -> list[Statement]:
    return [
        part_groups(filters),
        part_search_totals(filters, groups),
        part_price_totals(filters, groups, SPLIT),
        part_search_page(filters, groups),
    ]


@pytest.mark.parametrize(
    ("text", "pattern"),
    [("бамп", "%бамп%"), ("100%", "%100\\%%"), ("a_b", "%a\\_b%"), ("back\\slash", "%back\\\\slash%")],
)
def test_like_pattern_escapes_wildcards(text: str, pattern: str) -> None:
    assert like_pattern(text) == pattern


def test_each_argument_is_one_numbered_parameter_in_order() -> None:
    for statement in _statements(EVERY_FILTER, GROUPS):
        numbers = sorted({int(number) for number in re.findall(r"\$(\d+)::", statement.sql)})
        assert numbers == list(range(1, len(statement.arguments) + 1)), statement
    groups = part_groups(EVERY_FILTER)
    assert groups.arguments == ("m", "c", [1], "d", [2], "%p%", "k", True)
    page = part_search_page(EVERY_FILTER, GROUPS)
    assert page.arguments == ([1], [2], ["p1", "p2"], "k", True, 3, 4, 5, 0)


@pytest.mark.parametrize(
    ("filters", "joined"),
    [
        (PartFilters(mark_name="m", part_name="p"), True),
        (PartFilters(model_name="d", part_name="p"), True),
        (PartFilters(producer_country_name="c", part_name="p"), True),
        (PartFilters(part_name="p"), False),
        (PartFilters(mark_name="m", model_name="d"), False),
    ],
)
def test_a_name_is_joined_with_the_mark_model_and_country_lookups_and_alone_resolved_first(
    filters: PartFilters, joined: bool
) -> None:
    """service_common/totals.py, "Part names": each lookup of the groups step is either joined or an array."""
    sql = part_groups(filters).sql
    lookups = sql.count("IN (SELECT") + sql.count("= ANY(ARRAY(SELECT")
    named = (filters.mark_name, filters.model_name, filters.producer_country_name, filters.part_name)
    assert lookups == sum(value is not None for value in named)
    assert sql.count("IN (SELECT" if joined else "= ANY(ARRAY(SELECT") == lookups


def test_a_statement_names_which_filters_are_given_never_their_values() -> None:
    """One text per shape, so each is prepared and planned once; the values travel apart, whatever they hold."""
    hostile = "x'); DROP TABLE part; -- $1"
    other = dataclasses.replace(
        EVERY_FILTER, mark_name=hostile, part_name=hostile, color=hostile, count=9, price_gte=1, page=7
    )
    other_groups: dict[str, Any] = {"marks": [7, 8], "models": [9], "names": [hostile]}
    for first, second in zip(_statements(EVERY_FILTER, GROUPS), _statements(other, other_groups), strict=True):
        assert first.sql == second.sql
        assert first.arguments != second.arguments
        assert "DROP" not in second.sql
    # A filter that is not given leaves no trace: no condition, no parameter.
    colour_only = part_search_page(PartFilters(color="k"), GROUPS)
    assert colour_only.arguments == ("k", 0)
    conditions = colour_only.sql.split(" WHERE ", 1)[1].split(" ORDER BY ", 1)[0]
    assert "mark_id" not in conditions and "upper(" in conditions
    assert part_groups(PartFilters()).sql.endswith("WHERE true")


def test_without_group_filters_nothing_is_narrowed_and_many_names_fall_back_to_the_substring() -> None:
    groups = {"marks": [1, 2], "models": [3, 4], "names": [f"n{i}" for i in range(NAME_CHOICES_LIMIT + 1)]}
    assert part_search_page(PartFilters(color="k"), groups).arguments[:1] == ("k",)
    page = part_search_page(PartFilters(part_name="n"), groups)
    assert page.arguments == ([1, 2], [3, 4], "%n%", 0)
    assert "p.name::text = ANY" not in page.sql and "LIKE" in page.sql


async def _plans(database_url: str, filters: PartFilters) -> tuple[str, str]:
    """EXPLAIN of the rows step's totals and page, with the groups the first step resolves, planned as the
    service plans them (fastapi_search/db.py: custom plans only)."""
    connection = await asyncpg.connect(database_url, server_settings={"plan_cache_mode": "force_custom_plan"})
    try:
        await connection.execute("SET enable_seqscan = off")  # a 3 000-row table would rather seq-scan
        # jsonb parameters as JSON text, as the service's codec encodes them.
        await connection.set_type_codec("jsonb", schema="pg_catalog", encoder=json.dumps, decoder=str)
        statement = part_groups(filters)
        groups = await connection.fetchrow(statement.sql, *statement.arguments)
        assert groups is not None and groups["count"] > 0
        plans = []
        for statement in (part_search_totals(filters, groups), part_search_page(filters, groups)):
            rows = await connection.fetch(f"EXPLAIN {statement.sql}", *statement.arguments)
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
