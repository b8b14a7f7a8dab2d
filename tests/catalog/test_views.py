"""Django's other endpoints: mark and model lists, health, admin, errors as JSON."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.expected import Row
from tests.servers import Server


def test_mark_list_shows_visible_marks(django_client: httpx.Client, rows: list[Row]) -> None:
    response = django_client.get("/mark/")
    assert response.status_code == 200
    marks = response.json()["response"]
    assert [mark["name"] for mark in marks] == ["Honda", "Toyota", "BMW", "Lada", "Hyundai"]
    assert marks[0] == {"id": marks[0]["id"], "name": "Honda", "producer_country_name": "Япония"}
    assert "Škoda" not in {mark["name"] for mark in marks}


def test_model_list_shows_visible_models(django_client: httpx.Client) -> None:
    models = django_client.get("/model/").json()["response"]
    assert [model["name"] for model in models] == ["Accord", "Camry", "X5", "Vesta", "Solaris"]
    assert models[0]["mark"]["name"] == "Honda"


def test_lists_refuse_post(django_client: httpx.Client) -> None:
    response = django_client.post("/mark/", json={})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_admin_login_page(django_client: httpx.Client) -> None:
    response = django_client.get("/admin/login/")
    assert response.status_code == 200
    assert "csrfmiddlewaretoken" in response.text


def test_admin_requires_login(django_client: httpx.Client) -> None:
    response = django_client.get("/admin/catalog/part/")
    assert response.status_code == 302
    assert "/admin/login/" in response.headers["location"]


def test_healthz_follows_the_drain_marker(django_server: Server, fastapi_server: Server, drain_marker: Path) -> None:
    for server in (django_server, fastapi_server):
        assert httpx.get(f"{server.base_url}/healthz").json() == {"status": "ok"}
    drain_marker.touch()
    try:
        for server in (django_server, fastapi_server):
            response = httpx.get(f"{server.base_url}/healthz")
            assert (response.status_code, response.json()) == (503, {"status": "draining"})
    finally:
        drain_marker.unlink()
    for server in (django_server, fastapi_server):
        assert httpx.get(f"{server.base_url}/healthz").status_code == 200
