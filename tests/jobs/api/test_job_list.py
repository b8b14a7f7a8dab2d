"""GET /api/jobs/: 10 jobs a page in a stable order, the search's envelope, bad queries refused; names only
with a token."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from tests.jobs.api.conftest import assert_error, sql
from tests.servers import Postgres

# Ties on created_at, in every status: only the id can order them.
TIED_JOBS_SQL = """
INSERT INTO job (kind, name, params, status, progress, attempts, created_at)
SELECT 'seed', 'tied ' || g, '{"parts": 1, "seed": 1}', (ARRAY['queued', 'running', 'done', 'failed'])[1 + g % 4],
       0, 0, '2020-01-01T00:00:00Z'
FROM generate_series(1, 13) AS g
"""
ORDER_SQL = {
    "-created": "created_at DESC, id DESC",
    "created": "created_at, id",
    "status": "status, created_at DESC, id DESC",
}


@pytest.fixture(scope="module")
def many_jobs(api: httpx.Client, auth: dict[str, str], api_sql: Postgres) -> None:
    """More than two pages of jobs: 11 made through the API, 13 sharing one creation time."""
    for parts in range(1, 12):
        assert (
            api.post("/api/jobs/", json={"kind": "seed", "params": {"parts": parts}}, headers=auth).status_code == 202
        )
    sql(api_sql, TIED_JOBS_SQL)


def _walk(api: httpx.Client, url: str) -> tuple[list[int], list[dict[str, object]]]:
    """Every job id, following ``next`` from ``url``; and each page's envelope without its rows."""
    ids: list[int] = []
    envelopes = []
    next_url: str | None = url
    while next_url is not None:
        response = api.get(next_url)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["response"]) <= 10
        ids += [row["id"] for row in body["response"]]
        envelopes.append({key: value for key, value in body.items() if key != "response"})
        next_url = body["next"]
    return ids, envelopes


@pytest.mark.usefixtures("many_jobs")
@pytest.mark.parametrize("sort", ["-created", "created", "status"])
def test_pages_follow_the_sort_with_ties_broken_by_id(api: httpx.Client, api_sql: Postgres, sort: str) -> None:
    expected = [int(i) for i in sql(api_sql, f"SELECT id FROM job ORDER BY {ORDER_SQL[sort]}").split()]  # noqa: S608

    ids, envelopes = _walk(api, f"/api/jobs/?sort={sort}")

    assert ids == expected
    count = len(expected)
    assert count > 20
    pages = -(-count // 10)
    assert envelopes == [
        {
            "count": count,
            "page": page,
            "next": f"/api/jobs/?page={page + 1}&sort={sort}" if page < pages else None,
            "previous": f"/api/jobs/?page={page - 1}&sort={sort}" if page > 1 else None,
        }
        for page in range(1, pages + 1)
    ]


@pytest.mark.usefixtures("many_jobs")
def test_the_default_is_newest_first_and_rows_carry_what_a_list_shows(
    api: httpx.Client, auth: dict[str, str], api_sql: Postgres
) -> None:
    body = api.get("/api/jobs/", headers=auth).json()

    assert body["page"] == 1
    assert [row["id"] for row in body["response"]] == [
        int(i) for i in sql(api_sql, "SELECT id FROM job ORDER BY created_at DESC, id DESC LIMIT 10").split()
    ]
    row = body["response"][0]
    assert set(row) == {"id", "url", "name", "kind", "status", "created"}
    assert row["url"] == f"/api/jobs/{row['id']}/"
    created = datetime.fromisoformat(row["created"])
    assert created.utcoffset() is not None  # ISO 8601 with the zone
    assert row["created"] == sql(
        api_sql,
        "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"') "  # noqa: S608
        f"FROM job WHERE id = {row['id']:d}",
    ).replace(".000000+", "+")


@pytest.mark.usefixtures("many_jobs")
def test_without_a_token_the_list_shows_no_names(api: httpx.Client, auth: dict[str, str]) -> None:
    """An import's name is ``import <file name>``: only a reader with the token sees it."""
    whole = api.get("/api/jobs/?sort=created", headers=auth)

    anonymous = api.get("/api/jobs/?sort=created")

    assert anonymous.status_code == 200
    assert anonymous.json() == {
        **whole.json(),
        "response": [{key: value for key, value in row.items() if key != "name"} for row in whole.json()["response"]],
    }
    assert all("name" in row for row in whole.json()["response"])
    assert "Authorization" in anonymous.headers["vary"]


@pytest.mark.usefixtures("many_jobs")
def test_a_page_past_the_end_is_empty_with_the_true_count(api: httpx.Client, api_sql: Postgres) -> None:
    count = int(sql(api_sql, "SELECT count(*) FROM job"))
    page = -(-count // 10) + 5

    body = api.get(f"/api/jobs/?page={page}&sort=status").json()

    assert body == {
        "response": [],
        "count": count,
        "page": page,
        "next": None,
        "previous": f"/api/jobs/?page={page - 1}&sort=status",
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
        ("page=", "page"),
        ("page=%201", "page"),
        ("page=100001", "page"),
        ("page=99999999999999999999", "page"),
        ("sort=name", "sort"),
        ("sort=-status", "sort"),
        ("sort=", "sort"),
        ("page=1&page=2", "page"),
        ("limit=5", "limit"),
    ],
)
def test_bad_queries_get_400_naming_the_parameter(api: httpx.Client, query: str, field: str) -> None:
    fields = assert_error(api.get(f"/api/jobs/?{query}"), 400, "validation_error")
    assert list(fields) == [field]
