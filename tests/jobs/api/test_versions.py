"""The jobs API under /v1/api/jobs/ answers byte for byte what /api/jobs/ answers (config/urls.py; README,
"Versions"), and version 1's document describes the /v1/ routes with the methods each really takes."""

from __future__ import annotations

from typing import Any

import httpx

from search_contract.release import RELEASE_HEADER
from tests.jobs.api.conftest import assert_error, sql
from tests.servers import Postgres

V1 = "/v1"
DONE_JOB_SQL = """
INSERT INTO job (kind, name, params, status, progress, attempts, created_at, started_at, finished_at, result)
VALUES ('seed', 'versioned seed', '{"parts": 2, "seed": 9}', 'done', 100, 1,
        '2024-06-01T10:00:00Z', '2024-06-01T10:00:01Z', '2024-06-01T10:00:03Z', '{"parts": 2}')
RETURNING id
"""
COMPARED_HEADERS = ("content-type", "allow", "vary", "www-authenticate", RELEASE_HEADER.lower())


def _same_answer(api: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    unversioned = api.request(method, path, **kwargs)
    versioned = api.request(method, V1 + path, **kwargs)
    assert versioned.status_code == unversioned.status_code, (path, versioned.text[:300])
    assert versioned.content == unversioned.content, path
    for name in COMPARED_HEADERS:
        assert versioned.headers.get(name) == unversioned.headers.get(name), (path, name)
    return unversioned


def test_job_reads_answer_the_same_bytes_under_v1(api: httpx.Client, auth: dict[str, str], api_sql: Postgres) -> None:
    job_id = int(sql(api_sql, DONE_JOB_SQL).split()[0])
    detail = _same_answer(api, "GET", f"/api/jobs/{job_id}/?fields=name,params,duration", headers=auth)
    assert detail.status_code == 200 and detail.json()["name"] == "versioned seed"
    # The job's URL names the unversioned path, which is the same v1, in both answers.
    assert detail.json()["url"] == f"/api/jobs/{job_id}/"
    assert _same_answer(api, "GET", f"/api/jobs/{job_id}/").status_code == 200
    listed = _same_answer(api, "GET", "/api/jobs/?sort=created&page=1", headers=auth)
    assert listed.status_code == 200 and listed.json()["count"] >= 1


def test_job_refusals_answer_the_same_bytes_under_v1(api: httpx.Client, auth: dict[str, str]) -> None:
    assert_error(_same_answer(api, "GET", "/api/jobs/999999999/"), 404, "not_found")
    assert_error(_same_answer(api, "GET", "/api/jobs/?page=0"), 400, "validation_error")
    assert_error(_same_answer(api, "GET", "/api/jobs/1/?fields=name"), 401, "unauthorized")
    assert_error(_same_answer(api, "POST", "/api/jobs/", json={"kind": "seed"}), 401, "unauthorized")
    assert_error(_same_answer(api, "POST", "/api/jobs/", json={"kind": "nope"}, headers=auth), 400, "validation_error")
    assert_error(_same_answer(api, "DELETE", "/api/jobs/"), 405, "method_not_allowed")


def test_a_job_created_under_v1_is_the_same_job(api: httpx.Client, auth: dict[str, str]) -> None:
    created = api.post(f"{V1}/api/jobs/", json={"kind": "seed", "params": {"parts": 1}}, headers=auth)
    assert created.status_code == 202
    url = created.json()["url"]
    assert created.headers["location"] == url and url.startswith("/api/jobs/")
    assert api.get(V1 + url).json()["id"] == api.get(url).json()["id"] == created.json()["id"]


def test_the_v1_document_lists_what_each_v1_route_allows(api: httpx.Client, auth: dict[str, str]) -> None:
    document = api.get(f"{V1}/api/openapi.json").json()
    job_url = api.post("/api/jobs/", json={"kind": "seed", "params": {"parts": 1}}, headers=auth).json()["url"]
    assert document["paths"] and all(path.startswith(f"{V1}/") for path in document["paths"])
    for path, item in document["paths"].items():
        response = api.request("PATCH", path.replace("/api/jobs/{id}/", job_url))
        assert_error(response, 405, "method_not_allowed")
        allowed = {method.strip().lower() for method in response.headers["allow"].split(",")}
        assert allowed - {"head"} == set(item), path
