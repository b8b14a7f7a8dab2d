"""Every public route answers through Nginx on HTTP_PORT, with Django at / and FastAPI under /fastapi/."""

from __future__ import annotations

import pytest

from tests.swarm.harness import http_call, operator_headers, upstream_addresses

pytestmark = pytest.mark.swarm


@pytest.mark.parametrize("path", ["/search/part/", "/fastapi/search/part/"])
def test_search_answers_the_contract(swarm_stack: str, path: str) -> None:
    reply = http_call("POST", path, {})

    assert reply.status == 200, reply.body[:300]
    assert reply.headers["content-type"].startswith("application/json")
    page = reply.json()
    assert isinstance(page, dict)
    assert set(page) == {"response", "count", "summ", "page"}
    assert page["page"] == 1
    assert page["count"] > 0, "up.sh seeds the catalog"
    assert len(page["response"]) == 10


def test_both_searches_agree_through_nginx(swarm_stack: str) -> None:
    query = {"part_name": "БАМП", "page": 2}

    django = http_call("POST", "/search/part/", query)
    fastapi = http_call("POST", "/fastapi/search/part/", query)

    assert django.status == fastapi.status == 200
    assert django.json() == fastapi.json()


@pytest.mark.parametrize("path", ["/mark/", "/model/", "/admin/login/", "/fastapi/docs", "/fastapi/openapi.json"])
def test_page_answers_200(swarm_stack: str, path: str) -> None:
    reply = http_call("GET", path)

    assert reply.status == 200, reply.body[:300]


@pytest.mark.parametrize("path", ["/healthz", "/livez", "/fastapi/healthz", "/fastapi/livez"])
def test_the_apps_probes_are_for_swarm_and_the_watcher_and_operators_only(swarm_stack: str, path: str) -> None:
    # nginx/lua/edge_operator.lua: the public gets the contract's 404; Swarm and the watcher ask each task.
    public = http_call("GET", path)
    assert public.status == 404, public.body[:300]
    assert public.json() == {"error": {"code": "not_found", "message": "No such resource.", "fields": {}}}
    assert http_call("GET", path, headers=operator_headers()).status == 200


def test_fastapi_docs_point_at_the_prefixed_schema(swarm_stack: str) -> None:
    reply = http_call("GET", "/fastapi/docs")

    assert b"/fastapi/openapi.json" in reply.body


def test_requests_are_answered_by_tasks_in_rotation(swarm_stack: str) -> None:
    django = http_call("GET", "/mark/")
    fastapi = http_call("POST", "/fastapi/search/part/", {})

    assert django.upstream.rsplit(":", 1)[0] in upstream_addresses("django")
    assert fastapi.upstream.rsplit(":", 1)[0] in upstream_addresses("fastapi")
