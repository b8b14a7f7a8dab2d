"""The OpenAPI document says what the code does: the fields the parser knows, the answers it gives.

search_contract/openapi.py is written by hand next to the parser (search_contract/filters.py) and the answer
builders (search_contract/page.py, errors.py, health.py); these tests fail when one moves without the other.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from search_contract.errors import method_not_allowed, validation_error
from search_contract.filters import KNOWN_FIELDS, KNOWN_PARAMS, MAX_PAGE
from search_contract.openapi import (
    ERROR_SCHEMA,
    HEALTH_SCHEMA,
    PART_SCHEMA,
    SEARCH_PAGE_SCHEMA,
    SEARCH_REQUEST_SCHEMA,
)
from search_contract.page import PART_ROW_COLUMNS, search_page
from service_common.health import ALIVE, DATABASE_UNAVAILABLE, DRAINING, READY
from tests.servers import Server


def _keys(schema: dict[str, Any]) -> set[str]:
    return set(schema["properties"])


def test_documented_request_fields_are_the_parsers_known_fields() -> None:
    assert _keys(SEARCH_REQUEST_SCHEMA) == set(KNOWN_FIELDS)
    assert _keys(SEARCH_REQUEST_SCHEMA["properties"]["params"]) == set(KNOWN_PARAMS)
    # The parser refuses unknown fields; the document must say so too.
    assert SEARCH_REQUEST_SCHEMA["additionalProperties"] is False
    assert SEARCH_REQUEST_SCHEMA["properties"]["params"]["additionalProperties"] is False


def test_documented_answer_fields_are_the_ones_built() -> None:
    row: dict[str, Any] = {column: 1 for column in PART_ROW_COLUMNS} | {"json_data": {}}
    page = search_page(rows=[row], count=1, summ=1, page=1)
    assert _keys(SEARCH_PAGE_SCHEMA) == set(page) == set(SEARCH_PAGE_SCHEMA["required"])
    part = page["response"][0]
    assert _keys(PART_SCHEMA) == set(part) == set(PART_SCHEMA["required"])
    for nested in ("mark", "model"):
        assert _keys(PART_SCHEMA["properties"][nested]) == set(part[nested])


def test_documented_error_and_health_bodies_are_the_ones_built() -> None:
    for error in (validation_error({"page": "must be an integer"}), method_not_allowed(method="GET", allowed="POST")):
        body = error.body()
        assert set(body) == _keys(ERROR_SCHEMA)
        assert set(body["error"]) == _keys(ERROR_SCHEMA["properties"]["error"])
    statuses = {answer.body["status"] for answer in (ALIVE, READY, DRAINING, DATABASE_UNAVAILABLE)}
    assert statuses == set(HEALTH_SCHEMA["properties"]["status"]["enum"])


def test_fastapi_documents_the_real_answers(fastapi_server: Server) -> None:
    document = orjson.loads(httpx.get(f"{fastapi_server.base_url}/openapi.json").content)
    search = document["paths"]["/search/part/"]["post"]
    responses = search["responses"]
    assert set(responses) >= {"200", "400", "405", "503"}
    assert responses["200"]["content"]["application/json"]["schema"]["type"] == "object"
    assert _keys(responses["200"]["content"]["application/json"]["schema"]) == _keys(SEARCH_PAGE_SCHEMA)
    for status in ("400", "405", "503"):
        assert _keys(responses[status]["content"]["application/json"]["schema"]) == {"error"}
    assert _keys(search["requestBody"]["content"]["application/json"]["schema"]) == set(KNOWN_FIELDS)
    for path in ("/livez", "/healthz"):
        assert set(document["paths"][path]) == {"get", "head"}


def test_both_services_document_the_page_cap(django_server: Server, fastapi_server: Server) -> None:
    """The request schema both documents serve is the contract's, so the page cap is the parser's in both."""
    fastapi = orjson.loads(httpx.get(f"{fastapi_server.base_url}/openapi.json").content)
    django = orjson.loads(httpx.get(f"{django_server.base_url}/api/openapi.json").content)
    from_fastapi = fastapi["paths"]["/search/part/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    from_django = django["components"]["schemas"]["SearchRequest"]
    page = SEARCH_REQUEST_SCHEMA["properties"]["page"]
    assert from_fastapi["properties"]["page"] == from_django["properties"]["page"] == page
    assert page["maximum"] == MAX_PAGE == 1_000
    assert SEARCH_PAGE_SCHEMA["properties"]["page"]["maximum"] == MAX_PAGE
    assert django["paths"]["/api/jobs/"]["get"]["parameters"][0]["schema"]["maximum"] == MAX_PAGE
