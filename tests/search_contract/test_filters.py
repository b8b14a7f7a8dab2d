"""The shared parser on its own: what it accepts, how it normalises, what it refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from search_contract import MAX_BODY_BYTES, ContractError, PartFilters, parse_search_request
from search_contract.filters import MAX_PAGE


def parse(body: Any) -> PartFilters:
    return parse_search_request(json.dumps(body).encode())


def refusal(body: Any) -> dict[str, Any]:
    with pytest.raises(ContractError) as caught:
        parse(body)
    assert caught.value.status == 400
    return caught.value.body()


def test_empty_object_is_every_visible_part_page_one() -> None:
    assert parse({}) == PartFilters(page=1)
    assert parse({}).offset == 0


def test_every_field_is_carried() -> None:
    filters = parse(
        {
            "mark_name": "Honda",
            "mark_list": [1, 2],
            "model_name": "Accord",
            "model_list": [3],
            "part_name": "бамп",
            "producer_country_name": "Япония",
            "params": {"color": "черный", "is_new_part": False, "count": 0},
            "price_gte": 10,
            "price_lte": 20,
            "page": 3,
        }
    )
    assert filters == PartFilters(
        mark_name="Honda",
        mark_ids=(1, 2),
        model_name="Accord",
        model_ids=(3,),
        part_name="бамп",
        producer_country_name="Япония",
        color="черный",
        is_new_part=False,
        count=0,
        price_gte=10,
        price_lte=20,
        page=3,
    )
    assert filters.offset == 20


def test_price_bounds_round_inwards() -> None:
    filters = parse({"price_gte": 10.2, "price_lte": 99.9})
    assert (filters.price_gte, filters.price_lte) == (11, 99)


def test_close_fractional_bounds_are_valid_but_empty() -> None:
    filters = parse({"price_gte": 10.2, "price_lte": 10.7})
    assert filters.price_gte is not None and filters.price_lte is not None
    assert filters.price_gte > filters.price_lte


def test_null_means_not_given() -> None:
    assert parse({"mark_name": None, "page": None, "params": {"color": None}}) == PartFilters()


def test_error_body_shape() -> None:
    assert refusal({"page": "2"}) == {
        "error": {
            "code": "validation_error",
            "message": "Invalid search request: page.",
            "fields": {"page": "must be an integer"},
        }
    }


def test_unknown_names_are_echoed_but_cut() -> None:
    fields = refusal({"x" * 500: 1})["error"]["fields"]
    assert list(fields) == ["x" * 64]


@pytest.mark.parametrize("raw", [b"", b" ", b"{", b"[]", b"null", b'{"page": NaN}', b"\xc3\x28"])
def test_body_level_refusals(raw: bytes) -> None:
    with pytest.raises(ContractError) as caught:
        parse_search_request(raw)
    assert set(caught.value.fields) == {"body"}


def test_body_size_limit_is_exact() -> None:
    padding = MAX_BODY_BYTES - len(b'{"part_name": ""}')
    fits = b'{"part_name": "' + b" " * padding + b'"}'
    assert len(fits) == MAX_BODY_BYTES
    with pytest.raises(ContractError) as caught:
        parse_search_request(fits)
    assert "part_name" in caught.value.fields  # too long a text, but the body was read
    with pytest.raises(ContractError) as caught:
        parse_search_request(fits + b" ")
    assert caught.value.fields == {"body": f"must be at most {MAX_BODY_BYTES} bytes"}


def test_limits_at_their_edges() -> None:
    assert MAX_PAGE == 1_000
    assert parse({"page": MAX_PAGE}).page == MAX_PAGE
    assert refusal({"page": MAX_PAGE + 1})["error"]["fields"] == {"page": "must be an integer from 1 to 1000"}
    assert parse({"mark_list": list(range(1, 101))}).mark_ids == tuple(range(1, 101))
    assert "mark_list" in refusal({"mark_list": list(range(1, 102))})["error"]["fields"]
    assert parse({"part_name": "я" * 200}).part_name == "я" * 200
    assert "part_name" in refusal({"part_name": "я" * 201})["error"]["fields"]
    assert parse({"price_lte": 2**31 - 1}).price_lte == 2**31 - 1
    assert "price_lte" in refusal({"price_lte": 2**31})["error"]["fields"]
