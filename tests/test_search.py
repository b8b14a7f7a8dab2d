"""The search contract, checked against each service and an independent computation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from search_contract.filters import MAX_PAGE
from tests.expected import Row, expected_search


def search(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/search/part/", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()  # type: ignore[no-any-return]


def mark_id(rows: list[Row], name: str) -> int:
    return next(row.mark_id for row in rows if row.mark_name == name)


def model_id(rows: list[Row], name: str) -> int:
    return next(row.model_id for row in rows if row.model_name == name)


SINGLE_FIELD_REQUESTS: list[dict[str, Any]] = [
    {},
    {"mark_name": "Honda"},
    {"mark_name": "hOnDa"},
    {"mark_name": "Hond"},
    {"model_name": "accord"},
    {"model_name": "CAMRY"},
    {"part_name": "бамп"},
    {"part_name": "БАМП"},
    {"part_name": "ЗАДНИЙ"},
    {"part_name": "filter"},
    {"part_name": "100%"},
    {"part_name": "_100"},
    {"part_name": "%"},
    {"part_name": "\\"},
    {"part_name": "ёлочн"},
    {"part_name": "невидимая"},
    {"producer_country_name": "япония"},
    {"producer_country_name": "ГЕРМАНИЯ"},
    {"producer_country_name": "чехия"},
    {"params": {"color": "черный"}},
    {"params": {"color": "ЧЁРНЫЙ"}},
    {"params": {"color": "black"}},
    {"params": {"is_new_part": True}},
    {"params": {"is_new_part": False}},
    {"params": {"count": 4}},
    {"params": {"count": 0}},
    {"params": {}},
    {"price_gte": 50_000},
    {"price_lte": 1_000},
    {"price_gte": 99.5},
    {"price_lte": 700.9},
    {"price_gte": 700, "price_lte": 700},
    {"page": 2},
    {"mark_name": None, "params": None, "page": None},
]


@pytest.mark.parametrize("body", SINGLE_FIELD_REQUESTS, ids=str)
def test_single_fields_match_independent_computation(
    client: httpx.Client, rows: list[Row], body: dict[str, Any]
) -> None:
    assert search(client, body) == expected_search(rows, body)


def test_id_lists(client: httpx.Client, rows: list[Row]) -> None:
    honda, bmw = mark_id(rows, "Honda"), mark_id(rows, "BMW")
    bodies: list[dict[str, Any]] = [
        {"mark_list": [honda]},
        {"mark_list": [honda, bmw, 999_999]},
        {"model_list": [model_id(rows, "X5")]},
        {"mark_list": [honda], "model_list": [model_id(rows, "X5")]},
        {"mark_list": []},
    ]
    for body in bodies:
        assert search(client, body) == expected_search(rows, body), body


def test_empty_list_matches_nothing(client: httpx.Client) -> None:
    assert search(client, {"model_list": []}) == {"response": [], "count": 0, "summ": 0, "page": 1}


def test_combined_fields(client: httpx.Client, rows: list[Row]) -> None:
    combos: list[dict[str, Any]] = [
        {"mark_name": "honda", "part_name": "бамп", "params": {"color": "ЧЕРНЫЙ"}},
        {"producer_country_name": "Япония", "params": {"is_new_part": True}},
        {"producer_country_name": "россия", "params": {"is_new_part": True, "color": "черный", "count": 4}},
        {"mark_name": "Toyota", "model_name": "camry", "price_gte": 100, "price_lte": 60_000, "page": 3},
        {"mark_name": "Honda", "model_name": "Camry"},
        {"part_name": "фара", "params": {"count": 10}, "mark_list": [mark_id(rows, "Lada")]},
    ]
    matches = 0
    for body in combos:
        result = search(client, body)
        assert result == expected_search(rows, body), body
        matches += result["count"]
    # The shapes above must not all be empty, or they would prove little.
    assert matches > 50


def test_cyrillic_substring_finds_front_bumper(client: httpx.Client) -> None:
    result = search(client, {"part_name": "бамп"})
    names = {part["name"] for part in result["response"]}
    assert "Бампер передний" in names or "Бампер задний" in names
    assert result["count"] > 10
    everything = search(client, {"part_name": "бамп", "page": result["count"] // 10 + 1})
    assert all("бамп" in part["name"].lower() for part in everything["response"])
    capitals = search(client, {"part_name": "бампер передний усил"})
    assert [part["name"] for part in capitals["response"]] == ["БАМПЕР ПЕРЕДНИЙ усиленный"]


def test_hidden_parts_are_never_found(client: httpx.Client, rows: list[Row]) -> None:
    hidden = {row.id for row in rows if not row.is_visible}
    assert len(hidden) > 100
    assert search(client, {"part_name": "Невидимая"})["count"] == 0
    total = search(client, {})
    assert total["count"] == len(rows) - len(hidden)
    last_page = total["count"] // 10 + 1
    for page in (1, 2, last_page // 2, last_page):
        assert not hidden & {part["id"] for part in search(client, {"page": page})["response"]}


def test_parts_of_hidden_marks_are_found_by_their_own_flag(client: httpx.Client) -> None:
    # Only part.is_visible decides (DESIGN.md); the Škoda mark is hidden, its part is not.
    result = search(client, {"mark_name": "ŠKODA"})
    assert [part["name"] for part in result["response"]] == ["Spoiler rear"]


def test_pages_cover_all_matches_in_id_order(client: httpx.Client, rows: list[Row]) -> None:
    body: dict[str, Any] = {"producer_country_name": "Япония", "params": {"color": "белый"}}
    first = search(client, body)
    assert 10 < first["count"] < 200
    seen: list[int] = []
    for page in range(1, first["count"] // 10 + 2):
        result = search(client, {**body, "page": page})
        assert (result["count"], result["summ"], result["page"]) == (first["count"], first["summ"], page)
        seen += [part["id"] for part in result["response"]]
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == first["count"]
    assert first["summ"] == expected_search(rows, body)["summ"]


def test_page_past_the_end_keeps_totals(client: httpx.Client, rows: list[Row]) -> None:
    body = {"mark_name": "BMW", "page": MAX_PAGE}
    result = search(client, body)
    assert result["response"] == []
    assert result["count"] > 0 and result["summ"] > 0
    assert result == expected_search(rows, body)


def test_no_match_gives_zero_sum(client: httpx.Client) -> None:
    assert search(client, {"mark_name": "Nonexistent"}) == {"response": [], "count": 0, "summ": 0, "page": 1}


def test_response_shape(client: httpx.Client) -> None:
    part = search(client, {"part_name": "БАМПЕР ПЕРЕДНИЙ усиленный"})["response"][0]
    assert part == {
        "id": part["id"],
        "mark": {"id": part["mark"]["id"], "name": "Lada", "producer_country_name": "Россия"},
        "model": {"id": part["model"]["id"], "name": "Vesta"},
        "name": "БАМПЕР ПЕРЕДНИЙ усиленный",
        "json_data": {"count": 4, "color": "ЧЁРНЫЙ", "is_new_part": True},
        "price": 2300,
    }
