"""API tokens on the write endpoints: 401 without a good one, 403 once revoked; reads need none (a job's private
fields do: tests/jobs/api/test_job_detail.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.jobs.api.conftest import assert_error, sql, token_create
from tests.servers import Postgres, manage

SEED = {"kind": "seed", "params": {"parts": 1}}
# Each write endpoint and a body it would take.
WRITES: list[tuple[str, dict[str, Any]]] = [
    ("/api/jobs/", {"json": SEED}),
    ("/api/jobs/import/", {"content": b"a,b\n", "headers": {"Content-Type": "text/csv"}}),
]


def _post(api: httpx.Client, path: str, options: dict[str, Any], authorization: str | None) -> httpx.Response:
    headers = dict(options.get("headers", {}))
    if authorization is not None:
        headers["Authorization"] = authorization.encode()  # bytes: UTF-8 as sent, not refused by httpx
    return api.post(path, **{**options, "headers": headers})


@pytest.mark.parametrize(("path", "options"), WRITES)
def test_no_token_is_401_with_a_bearer_challenge_and_writes_nothing(
    api: httpx.Client, api_sql: Postgres, path: str, options: dict[str, Any]
) -> None:
    before = sql(api_sql, "SELECT count(*) FROM job")

    response = _post(api, path, options, None)

    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == 'Bearer realm="jobs"'
    assert sql(api_sql, "SELECT count(*) FROM job") == before


@pytest.mark.parametrize(("path", "options"), WRITES)
@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-a-token-anybody-has-0123456789abcdef",
        "Bearer =abc",
        "Bearer two words",
        "Bearer tok\u00e9n",
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "bearer",
    ],
)
def test_a_wrong_or_malformed_token_is_401_invalid_token(
    api: httpx.Client, path: str, options: dict[str, Any], authorization: str
) -> None:
    response = _post(api, path, options, authorization)

    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == 'Bearer realm="jobs", error="invalid_token"'


def test_a_revoked_token_is_403_on_every_write(api: httpx.Client, api_database_url: str, api_sql: Postgres) -> None:
    token = token_create(api_database_url, "tests-to-revoke")
    assert _post(api, *WRITES[0], f"Bearer {token}").status_code == 202
    manage(api_database_url, "revoke_api_token", "tests-to-revoke")
    before = sql(api_sql, "SELECT count(*) FROM job")

    for path, options in WRITES:
        assert_error(_post(api, path, options, f"Bearer {token}"), 403, "forbidden")
    assert sql(api_sql, "SELECT count(*) FROM job") == before


def test_a_good_token_writes_and_records_when_it_was_used(
    api: httpx.Client, auth: dict[str, str], api_sql: Postgres
) -> None:
    # The scheme is case-insensitive (RFC 7235).
    response = api.post(
        "/api/jobs/",
        json=SEED,
        headers={"Authorization": auth["Authorization"].lower()[:7] + auth["Authorization"][7:]},
    )
    assert response.status_code == 202, response.text
    seconds_ago = sql(
        api_sql, "SELECT extract(epoch FROM now() - last_used_at)::int FROM api_token WHERE name = 'tests-writer'"
    )
    assert 0 <= int(seconds_ago) < 120


def test_reads_need_no_token(api: httpx.Client, auth: dict[str, str]) -> None:
    job_url = api.post("/api/jobs/", json=SEED, headers=auth).json()["url"]
    for path in ("/api/jobs/", job_url, "/api/openapi.json", "/api/docs/", "/mark/", "/model/"):
        assert api.get(path).status_code == 200, path
