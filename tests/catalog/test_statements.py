"""Django's search statements, compiled once per shape (catalog/statements.py): a later search of a shape binds
its own values, and answers exactly what a search compiled afresh answers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.expected import Row
from tests.servers import manage

# Pairs (and more) of bodies of one shape with different values, over every kind of statement: the groups,
# the page with an offset, the sums of a stock count, both price paths (whole bands with their edges, and the
# parts summed), the names sent or the substring itself.
BODIES: list[dict[str, Any]] = [
    {},
    {"mark_name": "Honda"},
    {"mark_name": "toyota"},
    {"mark_name": "Toyota", "page": 2},
    {"mark_name": "bmw", "page": 3},
    {"model_name": "Camry", "params": {"color": "белый"}},
    {"model_name": "vesta", "params": {"color": "КРАСНЫЙ"}},
    {"part_name": "бамп"},
    {"part_name": "фара"},
    {"producer_country_name": "Япония", "params": {"is_new_part": True}},
    {"producer_country_name": "Германия", "params": {"is_new_part": False}},
    {"mark_list": [1, 2], "params": {"count": 3}},
    {"mark_list": [3], "params": {"count": 7}},
    {"model_list": [4, 5], "part_name": "зерк", "price_gte": 1000},
    {"model_list": [1], "part_name": "фар", "price_gte": 30000},
    {"price_gte": 1234, "price_lte": 56789},
    {"price_gte": 20001, "price_lte": 20999},
    {"mark_name": "Lada", "price_lte": 45000, "params": {"color": "синий"}},
    {"mark_name": "Hyundai", "price_lte": 7000, "params": {"color": "черный"}},
]

SCRIPT = """
import json, os
from catalog import statements
from catalog.selectors import part_search
from search_contract import parse_search_request
from django.db import connection
bodies = [parse_search_request(body.encode()) for body in json.loads(os.environ["BODIES"])]
executed = []
def count(execute, sql, params, many, context):
    executed.append(sql)
    return execute(sql, params, many, context)
with connection.execute_wrapper(count):
    kept = [part_search(filters=filters) for filters in bodies]
compiled = statements.compiled_count()
again = [part_search(filters=filters) for filters in bodies]
compiled_again = statements.compiled_count()
fresh = []
for filters in bodies:
    statements.compiled_clear()
    fresh.append(part_search(filters=filters))
print(json.dumps({"kept": kept, "again": again, "fresh": fresh, "compiled": compiled,
    "compiled_again": compiled_again, "executed": len(executed)}))
"""


@pytest.mark.parametrize("bands_from", ["0", "20000"], ids=["price-bands", "parts-summed"])
def test_a_shape_compiled_once_answers_each_search_with_its_own_values(
    database_url: str, rows: list[Row], bands_from: str
) -> None:
    # A new process: its first statement is a search's, on a new connection (whose own type lookups once got
    # caught as the search's statement).
    bodies = json.dumps([json.dumps(body) for body in BODIES])
    out = manage(
        database_url,
        "shell",
        "-c",
        SCRIPT,
        extra_env={"BODIES": bodies, "SEARCH_PRICE_BANDS_FROM": bands_from},
    )
    result = json.loads(out.strip().splitlines()[-1])
    assert result["kept"] == result["fresh"] == result["again"]
    # Reused, not compiled per search: fewer statements compiled than run, and none more the second time.
    assert 0 < result["compiled"] < result["executed"]
    assert result["compiled_again"] == result["compiled"]
    # The values reached the database: searches of one shape found different parts.
    answers = [(page["count"], page["summ"], [part["id"] for part in page["response"]]) for page in result["kept"]]
    assert answers[1] != answers[2] and answers[5] != answers[6] and answers[15] != answers[16]
    assert all(page["count"] > 0 for page in result["kept"][:3])
