"""The admin of the catalog and the jobs, as a logged-in superuser: every page answers, tokens are made once."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.admin_login import admin_login, cookieless_client, cookies_set
from tests.jobs.api.conftest import sql
from tests.servers import Postgres, Server

_CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Admin:
    """A logged-in admin session that sends its cookies by hand (tests/admin_login.py)."""

    def __init__(self, client: httpx.Client, origin: str) -> None:
        self.client = client
        self.origin = origin
        cookies = admin_login(client, origin=origin).cookies()
        self.cookies = {name: morsel.value for name, morsel in cookies.items()}

    def _headers(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path, headers=self._headers())

    def post_form(self, path: str, data: dict[str, str]) -> httpx.Response:
        """POST a form the way the browser would after loading it: with the page's CSRF token."""
        page = self.get(path)
        token = _CSRF_FIELD.search(page.text)
        assert token is not None, page.text[:300]
        headers = {**self._headers(), "Origin": self.origin, "Referer": f"{self.origin}{path}"}
        response = self.client.post(path, data={**data, "csrfmiddlewaretoken": token.group(1)}, headers=headers)
        self.cookies |= {name: morsel.value for name, morsel in cookies_set(response).items()}
        return response


@pytest.fixture(scope="module")
def admin(api_server: Server) -> Iterator[Admin]:
    with cookieless_client(base_url=api_server.base_url, timeout=30) as client:
        yield Admin(client, api_server.base_url)


@pytest.fixture(scope="module")
def ids(api_sql: Postgres, api: httpx.Client, auth: dict[str, str]) -> dict[str, int]:
    """One row of each model to open."""
    api.post("/api/jobs/", json={"kind": "seed", "params": {"parts": 1}}, headers=auth)
    feed = sql(
        api_sql,
        "INSERT INTO supplier_feed (name, url, is_enabled, timeout_seconds, created_at, last_status, "
        "last_error) VALUES ('tests-feed', 'http://feed.invalid/prices.csv', true, 10, now(), '', '') RETURNING id",
    )
    return {
        "mark": int(sql(api_sql, "SELECT min(id) FROM mark")),
        "model": int(sql(api_sql, "SELECT min(id) FROM model")),
        "part": int(sql(api_sql, "SELECT min(id) FROM part")),
        "job": int(sql(api_sql, "SELECT max(id) FROM job")),
        "apitoken": int(sql(api_sql, "SELECT min(id) FROM api_token")),
        "supplierfeed": int(feed.split()[0]),
    }


MODELS = ["catalog/mark", "catalog/model", "catalog/part", "jobs/job", "jobs/apitoken", "jobs/supplierfeed"]


@pytest.mark.parametrize("model", MODELS)
def test_every_list_and_change_page_answers(admin: Admin, ids: dict[str, int], model: str) -> None:
    assert admin.get(f"/admin/{model}/").status_code == 200
    change = admin.get(f"/admin/{model}/{ids[model.split('/')[1]]}/change/")
    assert change.status_code == 200
    if model != "jobs/job":
        assert admin.get(f"/admin/{model}/add/").status_code == 200


def test_jobs_are_read_only_in_the_admin(admin: Admin, ids: dict[str, int]) -> None:
    assert admin.get("/admin/jobs/job/add/").status_code == 403
    page = admin.get(f"/admin/jobs/job/{ids['job']}/change/").text
    assert 'name="_save"' not in page
    assert admin.get("/admin/jobs/job/?status__exact=queued&kind__exact=seed").status_code == 200


def test_the_part_list_searches_and_filters(admin: Admin, api_sql: Postgres) -> None:
    mark_id = int(
        sql(api_sql, "SELECT mark_id FROM part WHERE name ILIKE '%бампер%' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
    )
    expected = {
        int(i)
        for i in sql(
            api_sql,
            f"SELECT id FROM part WHERE name ILIKE '%бампер%' AND mark_id = {mark_id:d} AND is_visible",  # noqa: S608
        ).split()
    }
    assert expected

    response = admin.get(
        f"/admin/catalog/part/?q=%D0%B1%D0%B0%D0%BC%D0%BF&mark__id__exact={mark_id}&is_visible__exact=1"
    )

    assert response.status_code == 200
    shown = {int(i) for i in re.findall(r'href="/admin/catalog/part/(\d+)/change/', response.text)}
    assert shown == expected
    # The prices are in the list; the filters are offered.
    assert "field-price" in response.text
    assert "By mark" in response.text or "mark" in response.text


def test_a_token_made_in_the_admin_is_shown_once_works_and_is_revoked_by_the_action(
    admin: Admin, api: httpx.Client, api_sql: Postgres
) -> None:
    created = admin.post_form("/admin/jobs/apitoken/add/", {"name": "tests-admin-token"})

    assert created.status_code == 200, created.text[:500]
    token = re.search(r'<code id="api-token"[^>]*>([^<]+)</code>', created.text)
    assert token is not None, created.text[:2000]
    seed = {"kind": "seed", "params": {"parts": 1}}
    bearer = {"Authorization": f"Bearer {token.group(1)}"}
    assert api.post("/api/jobs/", json=seed, headers=bearer).status_code == 202
    token_id = sql(api_sql, "SELECT id FROM api_token WHERE name = 'tests-admin-token'")
    # The change page shows the prefix, never the token or its digest.
    change = admin.get(f"/admin/jobs/apitoken/{token_id}/change/").text
    assert token.group(1)[:8] in change and token.group(1) not in change
    assert sql(api_sql, f"SELECT digest FROM api_token WHERE id = {int(token_id):d}") not in change  # noqa: S608

    revoked = admin.post_form("/admin/jobs/apitoken/", {"action": "revoke", "_selected_action": token_id, "index": "0"})

    assert revoked.status_code == 302, revoked.text[:500]
    assert api.post("/api/jobs/", json=seed, headers=bearer).status_code == 403


def test_the_part_list_takes_its_total_from_the_planner_estimate_on_a_large_table(
    admin: Admin, api_sql: Postgres
) -> None:
    """No COUNT(*) over a million parts: unfiltered, the count is pg_class.reltuples (here made to say 2 million);
    filtered, the matches are counted for real."""
    visible = int(sql(api_sql, "SELECT count(*) FROM part WHERE is_visible"))
    sql(api_sql, "UPDATE pg_class SET reltuples = 2000000 WHERE oid = 'part'::regclass")
    try:
        unfiltered = admin.get("/admin/catalog/part/")
        filtered = admin.get("/admin/catalog/part/?is_visible__exact=1")
    finally:
        sql(api_sql, "ANALYZE part")

    assert unfiltered.status_code == filtered.status_code == 200
    assert "2000000 parts" in unfiltered.text
    assert f"{visible} parts" in filtered.text


def test_the_admin_refuses_a_password_that_fails_the_validators(admin: Admin, api_sql: Postgres) -> None:
    """AUTH_PASSWORD_VALIDATORS, on the add-user form and the set-password form of an existing account."""
    weak = {"username": "tests-weak-admin", "usable_password": "true", "password1": "password", "password2": "password"}

    refused = admin.post_form("/admin/auth/user/add/", weak)

    assert refused.status_code == 200  # the form again, with the validators' messages
    assert "This password is too common." in refused.text
    assert "This password is too short. It must contain at least 12 characters." in refused.text
    assert sql(api_sql, "SELECT count(*) FROM auth_user WHERE username = 'tests-weak-admin'") == "0"

    strong = {**weak, "password1": "tiled-harbour-lamp-47", "password2": "tiled-harbour-lamp-47"}
    assert admin.post_form("/admin/auth/user/add/", strong).status_code == 302
    user_id = int(sql(api_sql, "SELECT id FROM auth_user WHERE username = 'tests-weak-admin'"))
    before = sql(api_sql, f"SELECT password FROM auth_user WHERE id = {user_id:d}")  # noqa: S608

    changed = admin.post_form(
        f"/admin/auth/user/{user_id}/password/", {"password1": "12345678901234", "password2": "12345678901234"}
    )

    assert changed.status_code == 200
    assert "This password is entirely numeric." in changed.text
    assert sql(api_sql, f"SELECT password FROM auth_user WHERE id = {user_id:d}") == before  # noqa: S608
