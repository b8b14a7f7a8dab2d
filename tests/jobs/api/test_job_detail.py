"""GET /api/jobs/ID/: the job's state and times, extra fields on request, 404 for no such job; its name, params,
result and error only with a token."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from tests.jobs.api.conftest import assert_error, sql
from tests.servers import Postgres

DONE_JOB_SQL = """
INSERT INTO job (kind, name, params, status, progress, attempts, created_at, started_at, finished_at, result)
VALUES ('seed', 'finished seed', '{"parts": 3, "seed": 4}', 'done', 100, 2,
        '2024-05-01T10:00:00Z', '2024-05-01T10:00:05Z', '2024-05-01T10:01:15.25Z', '{"parts": 3}')
RETURNING id
"""
FAILED_JOB_SQL = """
INSERT INTO job (kind, name, params, status, progress, attempts, created_at, started_at, finished_at, error)
VALUES ('import', 'bad file', '{"format": "csv", "filename": "x.csv", "size": 1}', 'failed', 0, 1,
        now(), now(), now(), '{"message": "line 1: no price", "lines": [{"line": 1, "reason": "no price"}]}')
RETURNING id
"""
RUNNING_JOB_SQL = """
INSERT INTO job (kind, name, params, status, progress, attempts, created_at, started_at)
VALUES ('seed', 'running seed', '{"parts": 9, "seed": 1}', 'running', 40, 1, now() - interval '10 seconds',
        now() - interval '5 seconds')
RETURNING id
"""


def _insert(postgres: Postgres, statement: str) -> int:
    return int(sql(postgres, statement).split()[0])


def test_a_done_job_shows_its_times_attempts_and_result(
    api: httpx.Client, auth: dict[str, str], api_sql: Postgres
) -> None:
    job_id = _insert(api_sql, DONE_JOB_SQL)

    response = api.get(f"/api/jobs/{job_id}/", headers=auth)

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": job_id,
        "url": f"/api/jobs/{job_id}/",
        "kind": "seed",
        "status": "done",
        "progress": 100,
        "created": "2024-05-01T10:00:00+00:00",
        "started": "2024-05-01T10:00:05+00:00",
        "finished": "2024-05-01T10:01:15.250000+00:00",
        "attempts": 2,
        "result": {"parts": 3},
        "error": None,
    }
    with_fields = api.get(f"/api/jobs/{job_id}/?fields=name,duration,params", headers=auth).json()
    assert with_fields == {**body, "name": "finished seed", "duration": 70.25, "params": {"parts": 3, "seed": 4}}
    assert api.get(f"/api/jobs/{job_id}/?fields=duration", headers=auth).json() == {**body, "duration": 70.25}


def test_a_failed_job_shows_its_error_and_no_result(api: httpx.Client, auth: dict[str, str], api_sql: Postgres) -> None:
    body = api.get(f"/api/jobs/{_insert(api_sql, FAILED_JOB_SQL)}/", headers=auth).json()

    assert (body["status"], body["result"]) == ("failed", None)
    assert body["error"] == {"message": "line 1: no price", "lines": [{"line": 1, "reason": "no price"}]}


def test_a_running_job_lasts_until_now_and_a_queued_one_has_no_duration(
    api: httpx.Client, auth: dict[str, str], api_sql: Postgres
) -> None:
    running = api.get(f"/api/jobs/{_insert(api_sql, RUNNING_JOB_SQL)}/?fields=duration").json()
    assert running["status"] == "running"
    assert running["finished"] is None
    assert 5 <= running["duration"] < 60

    queued_url = api.post("/api/jobs/", json={"kind": "seed", "params": {"parts": 1}}, headers=auth).json()["url"]
    queued = api.get(f"{queued_url}?fields=name,duration", headers=auth).json()
    assert (queued["status"], queued["started"], queued["duration"], queued["name"]) == (
        "queued",
        None,
        None,
        "seed 1 parts",
    )
    assert (queued["result"], queued["error"], queued["attempts"], queued["progress"]) == (None, None, 0, 0)
    assert datetime.fromisoformat(queued["created"]).utcoffset() is not None


def test_without_a_token_a_job_shows_its_state_but_no_name_params_result_or_error(
    api: httpx.Client, auth: dict[str, str], api_sql: Postgres
) -> None:
    """A failed import's name holds its file name, its error the file's rejected lines: not for the public."""
    job_id = _insert(api_sql, FAILED_JOB_SQL)
    url = f"/api/jobs/{job_id}/"
    whole = api.get(f"{url}?fields=duration", headers=auth)
    assert whole.json()["error"]["lines"] == [{"line": 1, "reason": "no price"}]

    anonymous = api.get(f"{url}?fields=duration")

    assert anonymous.status_code == 200
    state = {key: value for key, value in whole.json().items() if key not in {"name", "params", "result", "error"}}
    assert anonymous.json() == state
    assert set(state) == {
        "id",
        "url",
        "kind",
        "status",
        "progress",
        "created",
        "started",
        "finished",
        "attempts",
        "duration",
    }
    assert b"x.csv" not in anonymous.content and b"no price" not in anonymous.content
    assert "Authorization" in anonymous.headers["vary"] and "Authorization" in whole.headers["vary"]
    for fields in ("name", "params", "duration,params"):
        refused = api.get(f"{url}?fields={fields}")
        assert_error(refused, 401, "unauthorized")
        assert refused.headers["www-authenticate"] == 'Bearer realm="jobs"'
        assert b"x.csv" not in refused.content
    # A token that is sent must be good: a wrong one is refused, not answered as anonymous.
    assert_error(api.get(url, headers={"Authorization": "Bearer not-a-token-anybody-has-0123"}), 401, "unauthorized")


@pytest.mark.parametrize(
    ("query", "message"),
    [("fields=owner", "owner"), ("fields=name,secret", "secret"), ("verbose=1", None), ("fields=a&fields=b", None)],
)
def test_unknown_fields_and_parameters_get_400(
    api: httpx.Client, api_sql: Postgres, query: str, message: str | None
) -> None:
    job_id = _insert(api_sql, DONE_JOB_SQL)
    fields = assert_error(api.get(f"/api/jobs/{job_id}/?{query}"), 400, "validation_error")
    if message is not None:
        assert message in fields["fields"]
        assert "duration, name, params" in fields["fields"]


@pytest.mark.parametrize("job_id", ["999999999", "99999999999999999999999"])
def test_an_unknown_job_is_a_json_404(api: httpx.Client, job_id: str) -> None:
    assert_error(api.get(f"/api/jobs/{job_id}/"), 404, "not_found")


def test_a_path_that_is_not_a_job_id_is_a_json_404(api: httpx.Client) -> None:
    assert_error(api.get("/api/jobs/abc/"), 404, "not_found")
