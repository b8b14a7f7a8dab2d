"""web.middleware and the host settings, on a Django server whose DJANGO_ALLOWED_HOSTS is the real domain alone.

The health probes answer whatever the Host. A client's X-Forwarded-Host neither replaces nor bypasses the host
check. Cookies are Secure exactly when the request came over HTTPS (X-Forwarded-Proto: https, which Nginx sets).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.admin_login import admin_login, cookieless_client, cookies_set
from tests.servers import ROOT, Server, start_app

DOMAIN = "parts.example.com"


@pytest.fixture(scope="module")
def domain_django(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Django as a deployment configures it: ALLOWED_HOSTS holds the site's domain and nothing else."""
    server = start_app(
        "django",
        database_url,
        tmp_path_factory.mktemp("domain-django"),
        extra_env={"DJANGO_ALLOWED_HOSTS": DOMAIN, "WEB_CONCURRENCY": "1"},
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def domain_client(domain_django: Server) -> Iterator[httpx.Client]:
    with cookieless_client(base_url=domain_django.base_url, timeout=30) as client:
        yield client


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "10.0.1.5:8000", DOMAIN])
def test_health_probes_answer_whatever_the_host(domain_django: Server, fastapi_server: Server, host: str) -> None:
    # Both services: Swarm's check asks /livez and the watcher asks /healthz, with Host: localhost.
    for server in (domain_django, fastapi_server):
        livez = httpx.get(f"{server.base_url}/livez", headers={"Host": host})
        healthz = httpx.get(f"{server.base_url}/healthz", headers={"Host": host})
        assert (livez.status_code, livez.json()) == (200, {"status": "alive"}), server.name
        assert (healthz.status_code, healthz.json()) == (200, {"status": "ok"}), server.name


def test_the_swarm_health_check_passes_with_the_real_domain_set(domain_django: Server) -> None:
    # Exactly the command stack.yml's healthcheck runs in the django task.
    command = [sys.executable, str(ROOT / "healthcheck" / "http_probe.py"), f"{domain_django.base_url}/livez"]
    probe = subprocess.run(
        [*command, "--host", "localhost"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode == 0, probe.stdout + probe.stderr


def test_probes_keep_their_json_405(domain_client: httpx.Client) -> None:
    response = domain_client.post("/healthz", headers={"Host": "localhost"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_other_routes_still_check_the_host(domain_client: httpx.Client) -> None:
    refused = domain_client.get("/mark/", headers={"Host": "localhost"})
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/json"
    assert refused.json() == {
        "error": {"code": "bad_request", "message": "This host name is not served here.", "fields": {}}
    }
    assert domain_client.get("/mark/", headers={"Host": DOMAIN}).status_code == 200


def test_a_client_x_forwarded_host_does_not_bypass_the_host_check(domain_client: httpx.Client) -> None:
    # An allowed name in X-Forwarded-Host does not stand in for a Host that is not allowed...
    bypass = domain_client.get("/mark/", headers={"Host": "evil.example", "X-Forwarded-Host": DOMAIN})
    assert bypass.status_code == 400
    assert bypass.json()["error"]["code"] == "bad_request"
    # ...and a foreign one next to the right Host is ignored, not taken for the host.
    ignored = domain_client.get("/mark/", headers={"Host": DOMAIN, "X-Forwarded-Host": "evil.example"})
    assert ignored.status_code == 200


def test_cookies_are_secure_over_https_only(domain_client: httpx.Client) -> None:
    plain = cookies_set(domain_client.get("/admin/login/", headers={"Host": DOMAIN}))
    https = cookies_set(domain_client.get("/admin/login/", headers={"Host": DOMAIN, "X-Forwarded-Proto": "https"}))
    assert not plain["csrftoken"]["secure"]
    assert https["csrftoken"]["secure"] is True


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_admin_login_works_over_http_and_https(domain_client: httpx.Client, admin_user: str, scheme: str) -> None:
    headers = {"Host": DOMAIN, "X-Forwarded-Proto": scheme}
    login = admin_login(domain_client, origin=f"{scheme}://{DOMAIN}", headers=headers)

    assert login.admin_index.status_code == 200, login.admin_index.text[:300]
    assert "Site administration" in login.admin_index.text
    cookies = login.cookies()
    assert {"csrftoken", "sessionid"} <= set(cookies)
    for name in ("csrftoken", "sessionid"):
        assert bool(cookies[name]["secure"]) == (scheme == "https"), (name, cookies[name].OutputString())
        assert cookies[name]["httponly"] is True, name
