"""The search request as JSON Schema, for the OpenAPI docs (validation is filters.py's)."""

from __future__ import annotations

from typing import Any

from search_contract.filters import (
    MAX_COUNT,
    MAX_ID,
    MAX_LIST_ITEMS,
    MAX_PAGE,
    MAX_PRICE,
    MAX_TEXT_CHARS,
)

_TEXT: dict[str, Any] = {"type": "string", "maxLength": MAX_TEXT_CHARS}
_IDS: dict[str, Any] = {
    "type": "array",
    "maxItems": MAX_LIST_ITEMS,
    "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}
_PRICE: dict[str, Any] = {"type": "number", "minimum": 0, "maximum": MAX_PRICE}

SEARCH_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "mark_name": {**_TEXT, "description": "mark name, case-insensitive equality"},
        "mark_list": {**_IDS, "description": "mark ids, any of"},
        "model_name": {**_TEXT, "description": "model name, case-insensitive equality"},
        "model_list": {**_IDS, "description": "model ids, any of"},
        "part_name": {**_TEXT, "description": "case-insensitive substring of the part name"},
        "producer_country_name": {**_TEXT, "description": "the mark's country, case-insensitive equality"},
        "params": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "color": _TEXT,
                "is_new_part": {"type": "boolean"},
                "count": {"type": "integer", "minimum": 0, "maximum": MAX_COUNT},
            },
        },
        "price_gte": _PRICE,
        "price_lte": _PRICE,
        "page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
    },
    "example": {"mark_name": "Honda", "part_name": "бамп", "params": {"color": "черный"}, "page": 1},
}
