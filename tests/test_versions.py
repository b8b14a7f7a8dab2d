"""Versions a client can name: /v1/ answers byte for byte what the unversioned paths answer, in both services.

The unversioned paths are the task's own and are v1 too (config/urls.py, fastapi_search/search_routes.py; README,
"Versions"). Each version has its own OpenAPI document, describing its own paths. The jobs API's versions are in
tests/jobs/api/test_versions.py, with that API's server.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from search_contract import MAX_BODY_BYTES
from search_contract.release import RELEASE_HEADER, release_from_env
from tests.test_bad_input import BAD_BODIES

V1 = "/v1"
# Good searches: no filter, several filters, Cyrillic, a page past the end.
GOOD_BODIES: list[dict[str, Any]] = [
    {},
    {"mark_name": "honda", "params": {"color": "черный"}},
    {"part_name": "бамп", "price_gte": 100, "price_lte": 90_000.5, "page": 2},
    {"producer_country_name": "ЯПОНИЯ", "params": {"is_new_part": True}},
    {"mark_list": [1, 2], "model_list": [1, 2, 3]},
    {"page": 1000},
]
# The headers an answer is made of besides its body (Date, Server and the like are the transport's).
COMPARED_HEADERS = ("content-type", "allow", "retry-after", "x-cache", RELEASE_HEADER.lower())


def _encoded(body: Any) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def _same_answer(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """Ask ``path`` and ``/v1`` + ``path``; assert the same status, headers and bytes; return the first."""
    unversioned = client.request(method, path, **kwargs)
    versioned = client.request(method, V1 + path, **kwargs)
    assert versioned.status_code == unversioned.status_code, (path, versioned.text[:300], unversioned.text[:300])
    assert versioned.content == unversioned.content, path
    for name in COMPARED_HEADERS:
        assert versioned.headers.get(name) == unversioned.headers.get(name), (path, name)
    return unversioned


def test_searches_answer_the_same_bytes_under_v1(client: httpx.Client) -> None:
    for body in GOOD_BODIES:
        response = _same_answer(client, "POST", "/search/part/", content=_encoded(body))
        assert response.status_code == 200, (body, response.text[:300])
    assert client.post(f"{V1}/search/part/", json={}).json()["count"] > 0


def test_refused_searches_answer_the_same_bytes_under_v1(client: httpx.Client) -> None:
    for body, _ in BAD_BODIES:
        content = _encoded(body)
        # gunicorn drains at most 64 KiB of a body Django refused unread, then drops the connection: a new one.
        headers = {"Connection": "close"} if len(content) > MAX_BODY_BYTES else {}
        response = _same_answer(client, "POST", "/search/part/", content=content, headers=headers)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] in ("validation_error", "body_too_large")
    for method in ("GET", "PUT", "DELETE"):
        response = _same_answer(client, method, "/search/part/")
        assert response.status_code == 405 and response.headers["allow"] == "POST"


def test_unknown_paths_answer_the_same_404_under_v1(client: httpx.Client) -> None:
    for path in ("/no/such/route/", "/search/", "/search/part/extra/"):
        response = _same_answer(client, "GET", path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/mark/", "/model/"])
def test_the_lists_answer_the_same_bytes_under_v1(django_client: httpx.Client, path: str) -> None:
    response = _same_answer(django_client, "GET", path)
    assert response.status_code == 200 and response.json()["response"]
    assert _same_answer(django_client, "HEAD", path).status_code == 200
    refused = _same_answer(django_client, "POST", path, json={})
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"


def test_the_probes_and_the_admin_are_not_versioned(client: httpx.Client, django_client: httpx.Client) -> None:
    assert client.get("/livez").status_code == 200
    assert client.get(f"{V1}/livez").status_code == 404
    assert client.get(f"{V1}/healthz").status_code == 404
    assert django_client.get(f"{V1}/admin/").status_code == 404


def test_each_django_version_has_its_own_document(django_client: httpx.Client) -> None:
    """/v1/api/openapi.json: the unversioned document's operations, at the /v1/ paths."""
    unversioned = django_client.get("/api/openapi.json").json()
    versioned = django_client.get(f"{V1}/api/openapi.json").json()
    assert versioned["info"]["version"] == unversioned["info"]["version"] == "1"
    assert set(versioned["paths"]) == {V1 + path for path in unversioned["paths"]}
    assert not any(path.startswith(V1) for path in unversioned["paths"])
    for path, item in unversioned["paths"].items():
        assert set(versioned["paths"][V1 + path]) == set(item)
        for method, operation in item.items():
            v1_operation = versioned["paths"][V1 + path][method]
            assert v1_operation["responses"] == operation["responses"], (path, method)
            assert v1_operation.get("requestBody") == operation.get("requestBody"), (path, method)
    assert versioned["components"] == unversioned["components"]
    # Its docs page loads it.
    page = django_client.get(f"{V1}/api/docs/")
    assert page.status_code == 200 and 'data-openapi-url="/v1/api/openapi.json"' in page.text


def test_each_fastapi_version_has_its_own_document(fastapi_client: httpx.Client) -> None:
    """/v1/openapi.json: the search at /v1/search/part/; /openapi.json keeps the unversioned paths alone."""
    unversioned = fastapi_client.get("/openapi.json").json()
    versioned = fastapi_client.get(f"{V1}/openapi.json").json()
    assert set(unversioned["paths"]) == {"/search/part/", "/livez", "/healthz"}
    assert set(versioned["paths"]) == {f"{V1}/search/part/"}
    assert versioned["info"]["version"] == unversioned["info"]["version"] == "1"
    search, v1_search = unversioned["paths"]["/search/part/"]["post"], versioned["paths"][f"{V1}/search/part/"]["post"]
    assert v1_search["responses"] == search["responses"]
    assert v1_search["requestBody"] == search["requestBody"]
    assert v1_search["operationId"] != search["operationId"]
    # Behind Nginx (FASTAPI_ROOT_PATH=/fastapi) the document names the prefix, as FastAPI's own does.
    assert "servers" not in versioned


def test_every_answer_names_its_release(client: httpx.Client) -> None:
    """X-Release on the ok, refused, unknown and probe answers alike. These servers run without
    PARTSCAT_SERVICE, so their colour is local (tests/test_release_header.py gives them one)."""
    expected = release_from_env()
    assert expected.startswith("local-")
    answers = [
        client.post("/search/part/", json={}),
        client.post(f"{V1}/search/part/", json={"page": 0}),
        client.get("/search/part/"),
        client.get("/no/such/route/"),
        client.get("/livez"),
        client.get("/healthz"),
    ]
    assert [answer.status_code for answer in answers] == [200, 400, 405, 404, 200, 200]
    for answer in answers:
        assert answer.headers[RELEASE_HEADER] == expected, answer.request.url
