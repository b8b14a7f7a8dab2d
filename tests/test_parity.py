"""Parity: the same random requests give byte-identical answers from Django and FastAPI."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import httpx

from tests.expected import Row, expected_search

REQUESTS = 240


def random_request(rng: random.Random, rows: list[Row]) -> dict[str, Any]:
    """A request of 0 to 5 random fields with values drawn from (or near) the data."""
    row = rng.choice(rows)
    cases: list[Callable[[str], str]] = [str.upper, str.lower, str.title, str.strip]
    mutate = rng.choice(cases)
    words = row.name.split()
    choices: dict[str, Any] = {
        "mark_name": mutate(row.mark_name),
        "model_name": mutate(row.model_name),
        "part_name": mutate(rng.choice(words)[: rng.randint(2, 6)]),
        "producer_country_name": mutate(row.country),
        "mark_list": rng.sample(sorted({r.mark_id for r in rows}), rng.randint(0, 3)),
        "model_list": rng.sample(sorted({r.model_id for r in rows}), rng.randint(1, 3)),
        "price_gte": rng.choice([0, rng.randint(0, 100_000), round(rng.uniform(0, 100_000), 2)]),
        "price_lte": rng.choice([100_000, rng.randint(50_000, 100_000), round(rng.uniform(50_000, 100_000), 2)]),
        "params": {
            key: value
            for key, value in (
                ("color", mutate(rng.choice(["черный", "белый", "black", "ЧЁРНЫЙ", "синий"]))),
                ("is_new_part", rng.random() < 0.5),
                ("count", rng.randint(0, 50)),
            )
            if rng.random() < 0.4
        },
        "page": rng.choice([1, 1, 1, 2, 3, 50, 400]),
    }
    return {key: choices[key] for key in rng.sample(sorted(choices), rng.randint(0, 5))}


def test_random_requests_identical_and_correct(
    django_client: httpx.Client, fastapi_client: httpx.Client, rows: list[Row]
) -> None:
    rng = random.Random(20261123)
    non_empty = 0
    for _ in range(REQUESTS):
        body = random_request(rng, rows)
        from_django = django_client.post("/search/part/", json=body)
        from_fastapi = fastapi_client.post("/search/part/", json=body)
        assert from_django.status_code == from_fastapi.status_code == 200, body
        assert from_django.content == from_fastapi.content, body
        assert from_django.json() == expected_search(rows, body), body
        non_empty += bool(from_django.json()["response"])
    # The generator must exercise real matches, not a run of empty pages.
    assert non_empty > REQUESTS // 4
