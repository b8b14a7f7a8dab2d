"""POST /api/jobs/: a validated job row, queued, answered 202 with its URL; bad input is a 400 naming the field."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.jobs.api.conftest import assert_error, sql
from tests.servers import Postgres


def _row(postgres: Postgres, job_id: int) -> dict[str, Any]:
    columns = "kind, name, params, status, created_by_id"
    text = sql(postgres, f"SELECT row_to_json(j) FROM (SELECT {columns} FROM job WHERE id = {job_id:d}) j")  # noqa: S608
    return dict(json.loads(text))


def test_a_seed_job_is_created_queued_with_its_url(api: httpx.Client, auth: dict[str, str], api_sql: Postgres) -> None:
    response = api.post("/api/jobs/", json={"kind": "seed", "params": {"parts": 500, "seed": 9}}, headers=auth)

    assert response.status_code == 202, response.text
    body = response.json()
    assert body == {"id": body["id"], "url": f"/api/jobs/{body['id']}/", "status": "queued"}
    assert response.headers["location"] == body["url"]
    row = _row(api_sql, body["id"])
    token_id = sql(api_sql, "SELECT id FROM api_token WHERE name = 'tests-writer'")
    assert row == {
        "kind": "seed",
        "name": "seed 500 parts",
        "params": {"parts": 500, "seed": 9, "profile": "task"},
        "status": "queued",
        "created_by_id": int(token_id),
    }
    # The job is readable at the URL it was given.
    assert api.get(body["url"]).json()["status"] == "queued"


def test_a_seed_without_a_seed_number_records_the_one_drawn(
    api: httpx.Client, auth: dict[str, str], api_sql: Postgres
) -> None:
    response = api.post(
        "/api/jobs/", json={"kind": "seed", "name": "  nightly  ", "params": {"parts": 7}}, headers=auth
    )

    row = _row(api_sql, response.json()["id"])
    assert row["name"] == "nightly"
    assert row["params"]["parts"] == 7
    assert isinstance(row["params"]["seed"], int)


def test_a_seed_of_the_realistic_profile_records_it_and_says_so_in_its_name(
    api: httpx.Client, auth: dict[str, str], api_sql: Postgres
) -> None:
    params = {"parts": 20, "seed": 1, "profile": "realistic"}
    response = api.post("/api/jobs/", json={"kind": "seed", "params": params}, headers=auth)

    assert response.status_code == 202, response.text
    row = _row(api_sql, response.json()["id"])
    assert (row["name"], row["params"]) == ("seed 20 parts (realistic profile)", params)


def test_an_unknown_profile_is_answered_with_the_profiles_there_are(api: httpx.Client, auth: dict[str, str]) -> None:
    body = {"kind": "seed", "params": {"parts": 20, "profile": "huge"}}
    response = api.post("/api/jobs/", json=body, headers=auth)

    assert assert_error(response, 400, "validation_error") == {"params.profile": "must be one of task, realistic"}


def test_one_supplier_sync_at_a_time_the_second_gets_409_naming_the_first(
    api: httpx.Client, auth: dict[str, str], api_sql: Postgres
) -> None:
    first = api.post("/api/jobs/", json={"kind": "supplier_sync"}, headers=auth)
    assert first.status_code == 202, first.text
    assert _row(api_sql, first.json()["id"])["params"] == {}

    second = api.post("/api/jobs/", json={"kind": "supplier_sync", "params": {"feed_ids": [1]}}, headers=auth)

    fields = assert_error(second, 409, "job_conflict")
    url = first.json()["url"]
    assert url in second.json()["error"]["message"]
    assert url in fields["kind"]
    assert sql(api_sql, "SELECT count(*) FROM job WHERE kind = 'supplier_sync'") == "1"


BAD_BODIES: list[tuple[bytes | Any, str]] = [
    (b"", "body"),
    (b"not json", "body"),
    (b"[1]", "body"),
    (b'{"kind": "seed", "params": {"parts": NaN}}', "body"),
    (b"[" * 5_000 + b"]" * 5_000, "body"),
    ({}, "kind"),
    ({"kind": "seed", "extra": 1}, "extra"),
    ({"kind": "nothing"}, "kind"),
    ({"kind": ["seed"]}, "kind"),
    ({"kind": None}, "kind"),
    ({"kind": "import", "params": {}}, "kind"),
    ({"kind": "seed", "params": []}, "params"),
    ({"kind": "seed"}, "params.parts"),
    ({"kind": "seed", "params": {"parts": "5"}}, "params.parts"),
    ({"kind": "seed", "params": {"parts": True}}, "params.parts"),
    ({"kind": "seed", "params": {"parts": 0}}, "params.parts"),
    ({"kind": "seed", "params": {"parts": 10, "seed": -1}}, "params.seed"),
    ({"kind": "seed", "params": {"parts": 10, "colour": "red"}}, "params.colour"),
    ({"kind": "seed", "params": {"parts": 10, "profile": "huge"}}, "params.profile"),
    ({"kind": "seed", "params": {"parts": 10, "profile": ["task"]}}, "params.profile"),
    ({"kind": "seed", "params": {"parts": 10, "profile": None}}, "params.profile"),
    ({"kind": "supplier_sync", "params": {"feed_ids": []}}, "params.feed_ids"),
    ({"kind": "supplier_sync", "params": {"feed_ids": ["1"]}}, "params.feed_ids"),
    ({"kind": "seed", "name": "", "params": {"parts": 1}}, "name"),
    ({"kind": "seed", "name": 5, "params": {"parts": 1}}, "name"),
    ({"kind": "seed", "name": "x" * 201, "params": {"parts": 1}}, "name"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_bad_bodies_get_400_naming_the_field_and_create_nothing(
    api: httpx.Client, auth: dict[str, str], api_sql: Postgres, body: Any, field: str
) -> None:
    before = sql(api_sql, "SELECT count(*) FROM job")
    content = body if isinstance(body, bytes) else json.dumps(body).encode()

    response = api.post("/api/jobs/", content=content, headers={**auth, "Content-Type": "application/json"})

    fields = assert_error(response, 400, "validation_error")
    assert field in fields, fields
    assert sql(api_sql, "SELECT count(*) FROM job") == before


def test_a_body_over_64_kib_gets_413(api: httpx.Client, auth: dict[str, str]) -> None:
    body = json.dumps({"kind": "seed", "name": "x" * 70_000}).encode()
    fields = assert_error(api.post("/api/jobs/", content=body, headers=auth), 413, "body_too_large")
    assert fields == {"body": "must be at most 65536 bytes"}
