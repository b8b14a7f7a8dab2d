"""The answer of ``POST /search/part/``: one part's JSON and the page envelope, built here for both services.

Each service reads the page's rows its own way (Django's ORM, asyncpg) but under the same column names,
:data:`PART_ROW_COLUMNS`, and hands them to :func:`search_page`; so the JSON (its keys, their order, the
envelope) has one source. tests/test_parity.py compares both services' bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

# The columns of one row of the page, as both services name them (fastapi_search/queries.py's
# PART_SEARCH_PAGE selects them under these names; catalog/selectors.py's values() does too).
PART_ROW_COLUMNS = (
    "id",
    "name",
    "json_data",
    "price",
    "mark_id",
    "mark_name",
    "producer_country_name",
    "model_id",
    "model_name",
)


class SearchPage(TypedDict):
    """``{"response": [part, ...], "count": all matches, "summ": their price sum, "page": the page asked for}``."""

    response: list[dict[str, Any]]
    count: int
    summ: int
    page: int


def part_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """One part as the API shows it, from a row with the :data:`PART_ROW_COLUMNS`."""
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


def search_page(*, rows: Iterable[Mapping[str, Any]], count: int, summ: int, page: int) -> SearchPage:
    """The envelope around one page of parts, with the totals of every match."""
    return {"response": [part_json(row) for row in rows], "count": count, "summ": summ, "page": page}
