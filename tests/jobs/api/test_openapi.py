"""The OpenAPI document lists every route with exactly the methods it takes; the docs page needs no other host."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.jobs.api.conftest import assert_error

DOCUMENTED = {
    "/search/part/": {"post"},
    "/mark/": {"get"},
    "/model/": {"get"},
    "/api/jobs/": {"get", "post"},
    "/api/jobs/import/": {"post"},
    "/api/jobs/{id}/": {"get"},
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture(scope="module")
def document(api: httpx.Client) -> dict[str, Any]:
    response = api.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return dict(response.json())


@pytest.fixture(scope="module")
def job_path(api: httpx.Client, auth: dict[str, str]) -> str:
    """A real job's path, for /api/jobs/{id}/."""
    return str(api.post("/api/jobs/", json={"kind": "seed", "params": {"parts": 1}}, headers=auth).json()["url"])


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_the_document_is_openapi_3_1_with_every_route_and_method(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    assert document["info"]["title"] and document["info"]["version"]
    assert {path: set(item) for path, item in document["paths"].items()} == DOCUMENTED
    assert document["components"]["securitySchemes"] == {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": document["components"]["securitySchemes"]["bearerAuth"]["description"],
        }
    }
    operation_ids = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert method in HTTP_METHODS
            operation_ids.append(operation["operationId"])
            responses = operation["responses"]
            assert any(status.startswith("2") for status in responses), (path, method)
            assert {"405", "503"} <= set(responses), (path, method)
            # Every write needs the token and says what happens without one; a job read takes it (and then
            # shows the job's private fields) or not.
            if path.startswith("/api/jobs/") and method == "post":
                assert operation["security"] == [{"bearerAuth": []}]
                assert {"202", "400", "401", "403", "413"} <= set(responses)
            elif path.startswith("/api/jobs/"):
                assert operation["security"] == [{}, {"bearerAuth": []}]
                assert {"200", "400", "401", "403"} <= set(responses)
            else:
                assert "security" not in operation
            for parameter in operation.get("parameters", []):
                assert parameter["in"] in {"query", "path"}
                if parameter["in"] == "path":
                    assert f"{{{parameter['name']}}}" in path and parameter["required"] is True
    assert len(operation_ids) == len(set(operation_ids))
    assert "409" in document["paths"]["/api/jobs/"]["post"]["responses"]
    assert set(document["paths"]["/api/jobs/import/"]["post"]["requestBody"]["content"]) >= {
        "multipart/form-data",
        "text/csv",
        "application/json",
    }


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    refs = set(_refs(document))
    assert refs
    for ref in refs:
        assert ref.startswith("#/")
        node: Any = document
        for key in ref[2:].split("/"):
            assert key in node, ref
            node = node[key]
    # The error body is the shared one, and every error response uses it.
    error = document["components"]["schemas"]["Error"]["properties"]["error"]
    assert error["required"] == ["code", "message", "fields"]
    for name, response in document["components"]["responses"].items():
        assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, name


def test_the_documented_methods_are_what_each_route_allows(
    api: httpx.Client, document: dict[str, Any], job_path: str
) -> None:
    for path, item in document["paths"].items():
        url = path.replace("/api/jobs/{id}/", job_path)
        response = api.request("PATCH", url)
        assert_error(response, 405, "method_not_allowed")
        allowed = {method.strip().lower() for method in response.headers["allow"].split(",")}
        assert allowed - {"head"} == set(item), path


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/jobs/", "GET, HEAD, POST"),
        ("PUT", "/api/jobs/", "GET, HEAD, POST"),
        ("GET", "/api/jobs/import/", "POST"),
        ("PUT", "/api/jobs/import/", "POST"),
        ("POST", "JOB", "GET, HEAD"),
        ("DELETE", "JOB", "GET, HEAD"),
        ("POST", "/api/openapi.json", "GET, HEAD"),
        ("POST", "/api/docs/", "GET, HEAD"),
    ],
)
def test_wrong_methods_get_the_json_405_with_allow(
    api: httpx.Client, auth: dict[str, str], job_path: str, *, method: str, path: str, allow: str
) -> None:
    # With a good token too: the method is refused before anything else.
    response = api.request(method, job_path if path == "JOB" else path, headers=auth)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allow


def test_the_docs_page_loads_the_document_and_no_other_host(api: httpx.Client) -> None:
    response = api.get("/api/docs/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert 'data-openapi-url="/api/openapi.json"' in html
    assert "<script>" in html and "fetch(" in html
    # Nothing from elsewhere: no absolute or scheme-relative URL, no external script or stylesheet.
    assert not re.search(r"https?:", html, re.IGNORECASE)
    assert "//" not in re.sub(r"<script>.*?</script>", "", html, flags=re.DOTALL).replace("<!--", "")
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html, re.IGNORECASE)
    assert re.findall(r'href="([^"]*)"', html) == ["/api/openapi.json"]
