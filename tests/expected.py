"""The search computed independently: plain Python over every row read straight from PostgreSQL.

Shares nothing with the services but the contract's wording, so a bug in either
service's SQL or in the shared parser shows up as a mismatch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import psycopg

ROWS_SQL = """
SELECT p.id, p.name, p.price, p.json_data, p.is_visible,
       m.id, m.name, m.producer_country_name, d.id, d.name
FROM part p JOIN mark m ON m.id = p.mark_id JOIN model d ON d.id = p.model_id
ORDER BY p.id
"""


@dataclass(frozen=True)
class Row:
    id: int
    name: str
    price: int
    json_data: dict[str, Any]
    is_visible: bool
    mark_id: int
    mark_name: str
    country: str
    model_id: int
    model_name: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "mark": {"id": self.mark_id, "name": self.mark_name, "producer_country_name": self.country},
            "model": {"id": self.model_id, "name": self.model_name},
            "name": self.name,
            "json_data": self.json_data,
            "price": self.price,
        }


def load_rows(database_url: str) -> list[Row]:
    with psycopg.connect(database_url) as conn:
        return [Row(*record) for record in conn.execute(ROWS_SQL).fetchall()]


def _same(a: str, b: str) -> bool:
    return a.upper() == b.upper()


def _matches(row: Row, request: dict[str, Any]) -> bool:
    params = request.get("params") or {}
    data = row.json_data
    checks = [
        row.is_visible,
        request.get("mark_name") is None or _same(row.mark_name, request["mark_name"]),
        request.get("mark_list") is None or row.mark_id in request["mark_list"],
        request.get("model_name") is None or _same(row.model_name, request["model_name"]),
        request.get("model_list") is None or row.model_id in request["model_list"],
        request.get("part_name") is None or request["part_name"].upper() in row.name.upper(),
        request.get("producer_country_name") is None or _same(row.country, request["producer_country_name"]),
        params.get("color") is None or (isinstance(data.get("color"), str) and _same(data["color"], params["color"])),
        params.get("is_new_part") is None
        or (isinstance(data.get("is_new_part"), bool) and data["is_new_part"] is params["is_new_part"]),
        params.get("count") is None or (type(data.get("count")) is int and data["count"] == params["count"]),
        request.get("price_gte") is None or row.price >= math.ceil(request["price_gte"]),
        request.get("price_lte") is None or row.price <= request["price_lte"],
    ]
    return all(checks)


def expected_search(rows: list[Row], request: dict[str, Any]) -> dict[str, Any]:
    matches = sorted((row for row in rows if _matches(row, request)), key=lambda row: row.id)
    page = request.get("page") or 1
    chunk = matches[(page - 1) * 10 : page * 10]
    return {
        "response": [row.as_json() for row in chunk],
        "count": len(matches),
        "summ": sum(row.price for row in matches),
        "page": page,
    }
