"""Bad input: both services answer the same 4xx JSON error, never a 500, and lose nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from search_contract import MAX_BODY_BYTES, body_too_large
from search_contract.errors import MAX_ERROR_FIELDS
from search_contract.filters import MAX_PAGE
from tests.expected import Row

SQL = "'; DROP TABLE part; --"

# (body as bytes or JSON-able value, field expected in error.fields)
BAD_BODIES: list[tuple[Any, str]] = [
    (b"", "body"),
    (b"not json", "body"),
    (b"{", "body"),
    (b"[]", "body"),
    (b"[1, 2]", "body"),
    (b'"string"', "body"),
    (b"42", "body"),
    (b"null", "body"),
    (b"true", "body"),
    (b'{"page": NaN}', "body"),
    (b'{"price_gte": Infinity}', "body"),
    (b'{"price_lte": -Infinity}', "body"),
    (b'{"page": 1e999}', "page"),
    (b"\xff\xfe{}", "body"),
    (b'{"page": ' + b"9" * 5000 + b"}", "body"),
    (b"[" * 20_000 + b"]" * 20_000, "body"),
    (b'{"a": ' * 5_000 + b"1" + b"}" * 5_000, "body"),
    (json.dumps({"part_name": "x" * 70_000}).encode(), "body"),
    ({"unknown": 1}, "unknown"),
    ({SQL: 1}, SQL),
    ({"page": "2"}, "page"),
    ({"page": True}, "page"),
    ({"page": 0}, "page"),
    ({"page": -1}, "page"),
    ({"page": 1.5}, "page"),
    ({"page": 10**30}, "page"),
    ({"page": MAX_PAGE + 1}, "page"),
    ({"page": [1]}, "page"),
    ({"mark_name": 5}, "mark_name"),
    ({"mark_name": ["Honda"]}, "mark_name"),
    ({"mark_name": "x" * 201}, "mark_name"),
    ({"mark_name": "Hon\u0000da"}, "mark_name"),
    ({"part_name": {"$ne": 1}}, "part_name"),
    ({"model_name": True}, "model_name"),
    ({"producer_country_name": 1.5}, "producer_country_name"),
    ({"mark_list": 1}, "mark_list"),
    ({"mark_list": "1,2"}, "mark_list"),
    ({"mark_list": ["1"]}, "mark_list"),
    ({"mark_list": [True]}, "mark_list"),
    ({"mark_list": [1.0]}, "mark_list"),
    ({"mark_list": [0]}, "mark_list"),
    ({"mark_list": [2**63]}, "mark_list"),
    ({"model_list": list(range(1, 200))}, "model_list"),
    ({"model_list": [[1]]}, "model_list"),
    ({"model_list": [SQL]}, "model_list"),
    ({"price_gte": -1}, "price_gte"),
    ({"price_lte": -0.5}, "price_lte"),
    ({"price_gte": "100"}, "price_gte"),
    ({"price_lte": True}, "price_lte"),
    ({"price_gte": 10**12}, "price_gte"),
    ({"price_gte": 500, "price_lte": 100}, "price_gte"),
    ({"params": "color"}, "params"),
    ({"params": [1]}, "params"),
    ({"params": {"colour": "black"}}, "params.colour"),
    ({"params": {SQL: "x"}}, f"params.{SQL}"),
    ({"params": {"color') OR 1=1 --": "x"}}, "params.color') OR 1=1 --"),
    ({"params": {"color": 1}}, "params.color"),
    ({"params": {"color": ["black"]}}, "params.color"),
    ({"params": {"is_new_part": "true"}}, "params.is_new_part"),
    ({"params": {"is_new_part": 1}}, "params.is_new_part"),
    ({"params": {"count": "4"}}, "params.count"),
    ({"params": {"count": 4.5}}, "params.count"),
    ({"params": {"count": -1}}, "params.count"),
    ({"params": {"count": False}}, "params.count"),
    ({"params": {"count": 2**40}}, "params.count"),
    ({"mark_name": "\ud800"}, "mark_name"),
]


def _send(client: httpx.Client, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/search/part/", content=content, headers={"content-type": "application/json"})


def test_corpus_is_large() -> None:
    assert len(BAD_BODIES) >= 40


@pytest.mark.parametrize(("body", "field"), BAD_BODIES, ids=lambda v: repr(v)[:40])
def test_bad_body_same_400_from_both(
    django_client: httpx.Client, fastapi_client: httpx.Client, body: Any, field: str
) -> None:
    from_django, from_fastapi = _send(django_client, body), _send(fastapi_client, body)
    assert from_django.status_code == from_fastapi.status_code == 400, (from_django.text, from_fastapi.text)
    assert from_django.content == from_fastapi.content
    error = from_django.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"]
    assert field[:64] in error["fields"], error


def _keys_filling_64_kib(key: Any, *, inside_params: bool = False) -> tuple[bytes, int]:
    """A body of distinct unknown keys ``key(n)`` (JSON text), as many as MAX_BODY_BYTES holds; and their number."""
    head, tail = (b'{"params": {', b"}}") if inside_params else (b"{", b"}")
    entries: list[bytes] = []
    size = len(head) + len(tail)
    while True:
        entry = b'"' + key(len(entries)).encode() + b'": 0'
        if size + len(entry) + 1 > MAX_BODY_BYTES:
            return head + b",".join(entries) + tail, len(entries)
        entries.append(entry)
        size += len(entry) + 1


def _control_characters(number: int) -> str:
    """64 control characters (6 bytes each once JSON-escaped), distinct in their first two: the costliest name."""
    high, low = divmod(number, 31)
    return f"\\u{high + 1:04x}\\u{low + 1:04x}" + "\\u0001" * 62


# They answered 194 058, 529 501 and 132 396 bytes before errors.py bounded what an error echoes (now 566,
# 1 526 and 15 837).
HOSTILE_BODIES = {
    "unknown keys": _keys_filling_64_kib(lambda number: f"{number:x}"),
    "unknown params keys": _keys_filling_64_kib(lambda number: f"{number:x}", inside_params=True),
    "long control-character keys": _keys_filling_64_kib(_control_characters),
}
# The most any of them may answer: 20 names of 64 escaped control characters, each in fields and the message.
ERROR_BODY_MAX_BYTES = 16 * 1024


@pytest.mark.parametrize("name", list(HOSTILE_BODIES))
def test_an_error_stays_small_whatever_the_input(
    django_client: httpx.Client, fastapi_client: httpx.Client, name: str
) -> None:
    body, problems = HOSTILE_BODIES[name]
    from_django, from_fastapi = _send(django_client, body), _send(fastapi_client, body)
    assert from_django.status_code == from_fastapi.status_code == 400
    assert from_django.content == from_fastapi.content
    assert len(from_django.content) <= ERROR_BODY_MAX_BYTES, len(from_django.content)
    error = from_django.json()["error"]
    assert 1 <= len(error["fields"]) <= MAX_ERROR_FIELDS
    assert all(len(field) <= 64 for field in error["fields"])
    assert error["message"].endswith(f" and {problems - len(error['fields'])} more.")


def test_pages_past_the_cap_are_refused_alike(
    django_client: httpx.Client, fastapi_client: httpx.Client, rows: list[Row]
) -> None:
    last = {"page": MAX_PAGE}
    assert _send(django_client, last).json() == _send(fastapi_client, last).json()
    assert _send(django_client, last).json()["page"] == MAX_PAGE
    past = {"page": MAX_PAGE + 1}
    from_django, from_fastapi = _send(django_client, past), _send(fastapi_client, past)
    assert from_django.status_code == from_fastapi.status_code == 400
    assert from_django.content == from_fastapi.content
    assert from_django.json() == {
        "error": {
            "code": "validation_error",
            "message": "Invalid search request: page.",
            "fields": {"page": f"must be an integer from 1 to {MAX_PAGE}"},
        }
    }


@pytest.mark.parametrize("pieces", [(MAX_BODY_BYTES, 1), (MAX_BODY_BYTES // 2, MAX_BODY_BYTES // 2, 4096)])
def test_a_chunked_body_over_the_limit_gets_the_400(fastapi_client: httpx.Client, pieces: tuple[int, ...]) -> None:
    # No Content-Length: the limit is found while reading, and in the first case the piece that crosses it is
    # the body's last (FastAPI once answered that with a 500: its drain asked Starlette for a second stream).
    # FastAPI only: Django under WSGI reads a body by its Content-Length and sees none here. In the stack
    # Nginx reads every search body whole first (lua/admission.lua) and sends it on with a Content-Length.
    def chunked() -> Iterator[bytes]:
        yield from (b" " * size for size in pieces)

    answer = fastapi_client.post("/search/part/", content=chunked(), headers={"content-type": "application/json"})
    assert (answer.status_code, answer.json()) == (400, body_too_large().body()), answer.text[:300]


def test_several_problems_reported_at_once(client: httpx.Client) -> None:
    response = _send(client, {"page": 0, "mark_list": "x", "params": {"count": "1", "x": 1}, "nope": 1})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"page", "mark_list", "params.count", "params.x", "nope"}


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_wrong_method_on_search(django_client: httpx.Client, fastapi_client: httpx.Client, method: str) -> None:
    from_django = django_client.request(method, "/search/part/")
    from_fastapi = fastapi_client.request(method, "/search/part/")
    assert from_django.status_code == from_fastapi.status_code == 405
    assert from_django.content == from_fastapi.content
    assert from_django.json()["error"]["code"] == "method_not_allowed"
    assert from_django.headers["allow"] == from_fastapi.headers["allow"] == "POST"


def test_unknown_path_is_json_404(client: httpx.Client) -> None:
    response = client.get("/no/such/thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_sql_in_every_string_is_data(client: httpx.Client, rows: list[Row]) -> None:
    """SQL fragments in every text field are searched for, literally, and break nothing."""
    fragments = [SQL, "' OR '1'='1", "%' OR 1=1 --", "\\'; SELECT pg_sleep(5); --", "$1", "Honda' --"]
    for fragment in fragments:
        for name in ("mark_name", "model_name", "part_name", "producer_country_name"):
            response = client.post("/search/part/", json={name: fragment})
            assert response.status_code == 200, response.text
            assert response.json()["count"] == 0
        response = client.post("/search/part/", json={"params": {"color": fragment}})
        assert response.json()["count"] == 0
    visible = sum(row.is_visible for row in rows)
    assert client.post("/search/part/", json={}).json()["count"] == visible
