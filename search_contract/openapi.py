"""The search request and its answers as JSON Schema, for the OpenAPI docs of both services.

Validation is filters.py's; tests/test_openapi.py holds the documented fields equal to the ones it knows.
"""

from __future__ import annotations

from typing import Any

from search_contract.errors import MAX_ECHOED_NAME, MAX_ERROR_FIELDS, MAX_REASON_CHARS
from search_contract.filters import (
    MAX_COUNT,
    MAX_ID,
    MAX_LIST_ITEMS,
    MAX_PAGE,
    MAX_PRICE,
    MAX_TEXT_CHARS,
    PAGE_SIZE,
)

_TEXT: dict[str, Any] = {"type": "string", "maxLength": MAX_TEXT_CHARS}
_IDS: dict[str, Any] = {
    "type": "array",
    "maxItems": MAX_LIST_ITEMS,
    "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}
_PRICE: dict[str, Any] = {"type": "number", "minimum": 0, "maximum": MAX_PRICE}


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``null`` means "not given" for every field and params key (filters.py)."""
    return {**schema, "type": [schema["type"], "null"]}


SEARCH_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "mark_name": _or_null({**_TEXT, "description": "mark name, case-insensitive equality"}),
        "mark_list": _or_null({**_IDS, "description": "mark ids, any of"}),
        "model_name": _or_null({**_TEXT, "description": "model name, case-insensitive equality"}),
        "model_list": _or_null({**_IDS, "description": "model ids, any of"}),
        "part_name": _or_null({**_TEXT, "description": "case-insensitive substring of the part name"}),
        "producer_country_name": _or_null({**_TEXT, "description": "the mark's country, case-insensitive equality"}),
        "params": _or_null(
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "color": _or_null(_TEXT),
                    "is_new_part": _or_null({"type": "boolean"}),
                    "count": _or_null({"type": "integer", "minimum": 0, "maximum": MAX_COUNT}),
                },
            }
        ),
        "price_gte": _or_null(_PRICE),
        "price_lte": _or_null(_PRICE),
        "page": _or_null(
            {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_PAGE,
                "default": 1,
                "description": f"{PAGE_SIZE} parts a page; at most page {MAX_PAGE}, as a deeper page would scan "
                "every match before it",
            }
        ),
    },
    "example": {"mark_name": "Honda", "part_name": "бамп", "params": {"color": "черный"}, "page": 1},
}


# The answers, as JSON Schema. The part and the envelope are search_contract/page.py's; the error is
# errors.py's ContractError.body(), which Nginx's own error pages repeat.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every refusal, from Django, FastAPI and Nginx alike.",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "example": "validation_error"},
                "message": {"type": "string", "description": "names the problems in fields, and counts any others"},
                "fields": {
                    "type": "object",
                    "description": "what is wrong with each field, by name (params.NAME for a params key): the "
                    f"first {MAX_ERROR_FIELDS} problems found, names cut to {MAX_ECHOED_NAME} characters",
                    "maxProperties": MAX_ERROR_FIELDS,
                    "propertyNames": {"maxLength": MAX_ECHOED_NAME},
                    "additionalProperties": {"type": "string", "maxLength": MAX_REASON_CHARS},
                },
            },
        }
    },
}

_ID: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}

PART_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "mark", "model", "name", "json_data", "price"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "mark": {
            "type": "object",
            "required": ["id", "name", "producer_country_name"],
            "additionalProperties": False,
            "properties": {"id": _ID, "name": {"type": "string"}, "producer_country_name": {"type": "string"}},
        },
        "model": {
            "type": "object",
            "required": ["id", "name"],
            "additionalProperties": False,
            "properties": {"id": _ID, "name": {"type": "string"}},
        },
        "name": {"type": "string"},
        "json_data": {"type": "object", "description": "free-form attributes: color, is_new_part, count, ..."},
        "price": {"type": "integer", "minimum": 0, "maximum": MAX_PRICE},
    },
}

SEARCH_PAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["response", "count", "summ", "page"],
    "additionalProperties": False,
    "properties": {
        "response": {"type": "array", "maxItems": PAGE_SIZE, "items": PART_SCHEMA},
        "count": {"type": "integer", "minimum": 0, "description": "all matches, whatever the page"},
        "summ": {"type": "integer", "minimum": 0, "description": "the sum of price over all matches"},
        "page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
    },
}

_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}}
_ALLOW = {"Allow": {"description": "the methods this path takes", "schema": {"type": "string"}}}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": _json(ERROR_SCHEMA)}
    if headers:
        response["headers"] = headers
    return response


# The responses of POST /search/part/, by status (FastAPI's ``responses=``; the keys are ints there).
SEARCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "One page of matches in id order, with the count and price sum of all matches",
        "content": _json(SEARCH_PAGE_SCHEMA),
        "headers": {
            "X-Cache": {
                "description": "where the answer came from: HIT, MISS, BYPASS or OFF",
                "schema": {"type": "string", "enum": ["HIT", "MISS", "BYPASS", "OFF"]},
            }
        },
    },
    400: _error("The body is not a valid search request (every problem is named in error.fields)"),
    405: _error("Another method than POST", _ALLOW),
    503: _error("The database is unavailable, too slow, or every slot is busy: retry shortly", _RETRY_AFTER),
}

HEALTH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status"],
    "additionalProperties": False,
    "properties": {"status": {"type": "string", "enum": ["alive", "ok", "draining", "database unavailable"]}},
}

LIVENESS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The process serves HTTP", "content": _json(HEALTH_SCHEMA)},
    405: _error("Another method than GET or HEAD", _ALLOW),
}

READINESS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Ready: the database answers and the task is not draining", "content": _json(HEALTH_SCHEMA)},
    503: {"description": "Not ready: draining, or the database does not answer", "content": _json(HEALTH_SCHEMA)},
    405: _error("Another method than GET or HEAD", _ALLOW),
}
