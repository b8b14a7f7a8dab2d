"""EXPLAIN ANALYZE every search shape, as each service sends it, on the database in DATABASE_URL.

Usage (from the repository root, on a catalog seeded with seed_parts; the project installed in .venv):
    DATABASE_URL=postgres://... .venv/bin/python scripts/explain_plans.py > plans.txt
Django's SQL is captured from the real selector; FastAPI's is its named statement
with the same custom-plan setting the service's pool uses.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import asyncpg
import django
import orjson

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from catalog.selectors import part_search  # noqa: E402
from fastapi_search.queries import PART_GROUPS, PART_SEARCH_PAGE, PART_SEARCH_TOTALS  # noqa: E402
from fastapi_search.search import group_arguments, match_arguments  # noqa: E402
from search_contract import PartFilters  # noqa: E402
from search_contract.filters import MAX_PAGE  # noqa: E402

CASES: dict[str, PartFilters] = {
    "shape 1: part name + mark + colour": PartFilters(mark_name="Honda", part_name="бамп", color="черный"),
    "shape 2: country + is_new_part": PartFilters(producer_country_name="Япония", is_new_part=True),
    "name substring alone": PartFilters(part_name="фара"),
    "rare name substring": PartFilters(part_name="belt"),
    "no filter, deepest page": PartFilters(page=MAX_PAGE),
    "mark + name + price range": PartFilters(mark_name="BMW", part_name="фара", price_gte=5_000, price_lte=15_000),
    "colour + price range": PartFilters(color="синий", price_gte=5_000),
}


def _print_plan(title: str, lines: list[str]) -> None:
    print(f"### {title}\n")
    print("```")
    print("\n".join(lines))
    print("```\n")


def django_plans(name: str, filters: PartFilters) -> None:
    with CaptureQueriesContext(connection) as captured:
        part_search(filters=filters)
    for query, label in zip(captured.captured_queries, ("groups", "totals or page", "page"), strict=False):
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
            _print_plan(f"Django, {name}, {label}", [row[0] for row in cursor.fetchall()])


async def fastapi_plans(name: str, filters: PartFilters) -> None:
    conn = await asyncpg.connect(os.environ["DATABASE_URL"], server_settings={"plan_cache_mode": "force_custom_plan"})
    try:
        await conn.set_type_codec("jsonb", schema="pg_catalog", encoder=lambda v: orjson.dumps(v).decode(), decoder=str)
        rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {PART_GROUPS}", *group_arguments(filters))
        _print_plan(f"FastAPI, {name}, groups", [row[0] for row in rows])
        groups = await conn.fetchrow(PART_GROUPS, *group_arguments(filters))
        arguments: tuple[Any, ...] = match_arguments(filters, groups)
        for sql, label, extra in ((PART_SEARCH_TOTALS, "totals", ()), (PART_SEARCH_PAGE, "page", (filters.offset,))):
            rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *arguments, *extra)
            _print_plan(f"FastAPI, {name}, {label} (run only when needed)", [row[0] for row in rows])
    finally:
        await conn.close()


def main() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE is_visible) FROM part")
        total, visible = cursor.fetchone() or (0, 0)
        cursor.execute("SELECT version()")
        (version,) = cursor.fetchone() or ("",)
    print(f"# Search plans on {total} parts ({visible} visible)\n\n{version}\n")
    for name, filters in CASES.items():
        print(f"## {name}\n\n`{filters}`\n")
        django_plans(name, filters)
        asyncio.run(fastapi_plans(name, filters))


if __name__ == "__main__":
    main()
