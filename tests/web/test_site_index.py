"""GET /: the JSON index of what the stack serves, and every link in it leads somewhere real."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

# Nginx's prefix for the FastAPI service (nginx.conf, location /fastapi/).
FASTAPI_PREFIX = "/fastapi"


def test_the_root_is_a_json_index_not_a_404(django_client: httpx.Client) -> None:
    response = django_client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    index = response.json()
    hrefs = {link["name"]: link["href"] for link in index["links"]}
    assert hrefs == {
        "search-part": "/search/part/",
        "fastapi-search-part": "/fastapi/search/part/",
        "mark-list": "/mark/",
        "model-list": "/model/",
        "jobs": "/api/jobs/",
        "job-import": "/api/jobs/import/",
        "api-docs": "/api/docs/",
        "api-openapi": "/api/openapi.json",
        "fastapi-docs": "/fastapi/docs",
        "fastapi-openapi": "/fastapi/openapi.json",
        "v1-api-docs": "/v1/api/docs/",
        "v1-api-openapi": "/v1/api/openapi.json",
        "fastapi-v1-openapi": "/fastapi/v1/openapi.json",
        "admin": "/admin/",
    }
    assert all(link["title"] and link["methods"] for link in index["links"])


def test_the_root_refuses_other_methods_in_the_json_shape(django_client: httpx.Client) -> None:
    assert django_client.head("/").status_code == 200
    response = django_client.post("/", json={})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["allow"] == "GET, HEAD"


def _links(client: httpx.Client) -> list[dict[str, Any]]:
    return list(client.get("/").json()["links"])


@pytest.mark.parametrize("app", ["django", "fastapi"])
def test_every_link_is_served(app: str, django_client: httpx.Client, request: pytest.FixtureRequest) -> None:
    """Each link, sent with its first method to the app Nginx routes it to, is never a 404 (nor a 5xx)."""
    client: httpx.Client = request.getfixturevalue(f"{app}_client")
    on_fastapi = app == "fastapi"
    links = [link for link in _links(django_client) if str(link["href"]).startswith(FASTAPI_PREFIX) == on_fastapi]
    assert links
    for link in links:
        # Nginx strips /fastapi before FastAPI sees the path (nginx.conf, location /fastapi/).
        path = str(link["href"]).removeprefix(FASTAPI_PREFIX) if app == "fastapi" else str(link["href"])
        method = str(link["methods"][0])
        response = client.request(method, path, json={} if method == "POST" else None)
        assert response.status_code not in (404, 405), (link, response.status_code, response.text[:200])
        assert response.status_code < 500, (link, response.status_code)
