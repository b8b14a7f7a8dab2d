"""Log in to the Django admin as a browser does, and read back the cookies each answer set.

Cookies are handled by hand, not by a cookie jar, so the tests see every attribute (Secure above all) exactly
as the server sent it, over plain HTTP as over HTTPS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from http.cookies import Morsel, SimpleCookie
from typing import Any

import httpx

from tests.servers import manage

ADMIN_USERNAME = "edge-admin"
ADMIN_PASSWORD = "edge-admin-password-for-tests-only"  # noqa: S105 - a throwaway test database

_CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def admin_user_create(database_url: str) -> None:
    """A superuser for the login tests (idempotent)."""
    manage(
        database_url,
        "shell",
        "-c",
        "from django.contrib.auth.models import User\n"
        f"if not User.objects.filter(username={ADMIN_USERNAME!r}).exists():\n"
        f"    User.objects.create_superuser({ADMIN_USERNAME!r}, password={ADMIN_PASSWORD!r})\n",
    )


def cookieless_client(**options: Any) -> httpx.Client:
    """An httpx client that never stores a cookie: each request carries only the Cookie header it is given."""
    return httpx.Client(cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])), **options)


def cookies_set(response: httpx.Response) -> dict[str, Morsel[str]]:
    """Every cookie a response set, by name, with its attributes."""
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return dict(jar)


@dataclass(frozen=True)
class AdminLogin:
    login_page: httpx.Response
    login: httpx.Response
    admin_index: httpx.Response

    def cookies(self) -> dict[str, Morsel[str]]:
        """The cookies the login page and the login set (the latter win)."""
        return {**cookies_set(self.login_page), **cookies_set(self.login)}


def admin_login(client: httpx.Client, *, origin: str, headers: Mapping[str, str] | None = None) -> AdminLogin:
    """GET the login page, POST the form with its CSRF token, then GET /admin/ with the session cookie.

    `origin` is what a browser sends as Origin and Referer (scheme://host[:port]). Django checks both on HTTPS.
    """
    extra = dict(headers or {})
    page = client.get("/admin/login/", headers=extra)
    assert page.status_code == 200, page.text[:300]
    token = _CSRF_FIELD.search(page.text)
    assert token is not None, page.text[:300]
    csrf_cookie = cookies_set(page)["csrftoken"].value
    login = client.post(
        "/admin/login/?next=/admin/",
        data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "csrfmiddlewaretoken": token.group(1)},
        headers={
            **extra,
            "Cookie": f"csrftoken={csrf_cookie}",
            "Origin": origin,
            "Referer": f"{origin}/admin/login/",
        },
    )
    assert login.status_code == 302, login.text[:500]
    session = cookies_set(login)["sessionid"].value
    index = client.get("/admin/", headers={**extra, "Cookie": f"sessionid={session}"})
    return AdminLogin(login_page=page, login=login, admin_index=index)
