"""HTTPS at the edge: the shipped nginx.conf with the TLS listener the watcher writes, a self-signed certificate
made for the test, and the real Django and FastAPI test servers behind it.

Both listeners serve the same routes, but for the admin: with TLS on, /admin/ is served over HTTPS only (a
plain-HTTP page load is sent to HTTPS, anything else refused), so its password and session cookie never cross
the network in clear (issue 16, part 2, "Exposure"). Over HTTPS the admin's cookies are Secure and HSTS is sent;
over plain HTTP (TLS off) neither, whatever the client claims. Old protocols and weak ciphers are refused. A
spoofed X-Forwarded-Host does not get through to Django's host check.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Iterator

import httpx
import pytest

from tests.admin_login import admin_login, cookieless_client, cookies_set
from tests.nginx.edge_server import Edge, running_edge
from tests.servers import Server

JSON = {"Content-Type": "application/json"}


def _port(server: Server) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def edge(django_server: Server, fastapi_server: Server) -> Iterator[Edge]:
    with running_edge(tls=True) as running:
        running.push_peers(django_blue=[_port(django_server)], fastapi_blue=[_port(fastapi_server)])
        yield running


@pytest.fixture(scope="module")
def plain_edge(django_server: Server, fastapi_server: Server) -> Iterator[Edge]:
    """The same edge without a certificate: plain HTTP only."""
    with running_edge() as running:
        running.push_peers(django_blue=[_port(django_server)], fastapi_blue=[_port(fastapi_server)])
        yield running


def _client(edge: Edge, *, tls: bool) -> httpx.Client:
    if tls:
        assert edge.tls is not None and edge.tls_port is not None
        context = ssl.create_default_context(cafile=str(edge.tls.cert))
        return cookieless_client(base_url=f"https://127.0.0.1:{edge.tls_port}", verify=context, timeout=30)
    return cookieless_client(base_url=f"http://127.0.0.1:{edge.port}", timeout=30)


def test_https_serves_the_same_routes_as_http(edge: Edge) -> None:
    with _client(edge, tls=True) as https, _client(edge, tls=False) as plain:
        for method, path, body in (
            ("GET", "/mark/", None),
            ("POST", "/search/part/", b'{"part_name": "\xd0\xb1\xd0\xb0\xd0\xbc\xd0\xbf"}'),
            ("POST", "/fastapi/search/part/", b'{"part_name": "\xd0\xb1\xd0\xb0\xd0\xbc\xd0\xbf"}'),
            ("GET", "/fastapi/openapi.json", None),
        ):
            secure = https.request(method, path, content=body, headers=JSON)
            insecure = plain.request(method, path, content=body, headers=JSON)
            assert secure.status_code == insecure.status_code == 200, (path, secure.text[:300])
            assert secure.content == insecure.content, path
        # The two searches agree over HTTPS too.
        assert https.post("/search/part/", json={"page": 2}).json() == (
            https.post("/fastapi/search/part/", json={"page": 2}).json()
        )


def test_the_apps_own_errors_pass_through_unchanged(edge: Edge, django_server: Server) -> None:
    # Nginx's JSON error pages are for the errors Nginx produces; an app's 405 or 404 is the app's.
    with _client(edge, tls=True) as https:
        for method, path in (("POST", "/mark/"), ("GET", "/no-such-page/"), ("PUT", "/search/part/")):
            through = https.request(method, path, content=b"{}", headers=JSON)
            direct = httpx.request(method, f"{django_server.base_url}{path}", content=b"{}", headers=JSON)
            assert (through.status_code, through.content) == (direct.status_code, direct.content), path
            assert through.headers.get("allow") == direct.headers.get("allow"), path


def test_hsts_on_the_tls_listener_only(edge: Edge) -> None:
    with _client(edge, tls=True) as https, _client(edge, tls=False) as plain:
        for path in ("/mark/", "/no-such-page/", "/admin/login/"):
            assert https.get(path).headers["strict-transport-security"] == "max-age=31536000", path
            assert "strict-transport-security" not in plain.get(path).headers, path


def test_the_admin_over_https_sets_secure_cookies(edge: Edge, admin_user: str) -> None:
    with _client(edge, tls=True) as https:
        login = admin_login(https, origin=f"https://127.0.0.1:{edge.tls_port}")
    assert login.admin_index.status_code == 200
    assert "Site administration" in login.admin_index.text
    cookies = login.cookies()
    for name in ("csrftoken", "sessionid"):
        assert cookies[name]["secure"] is True, cookies[name].OutputString()


@pytest.mark.parametrize("path", ["/admin/", "/admin/login/?next=/admin/", "/admin/catalog/part/?q=%D0%B1"])
def test_with_tls_on_a_plain_http_admin_page_is_sent_to_https(edge: Edge, path: str) -> None:
    with _client(edge, tls=False) as plain:
        for method in ("GET", "HEAD"):
            page = plain.request(method, path)
            assert page.status_code == 301, (method, page.text[:300])
            assert page.headers["location"] == f"https://127.0.0.1:{edge.tls_port}{path}"
        # Only the admin: the rest of the site stays on both listeners.
        assert plain.get("/mark/").status_code == 200


def test_with_tls_on_a_plain_http_admin_post_is_refused(edge: Edge, admin_user: str) -> None:
    # The form was sent in clear already; the edge does not pass it on, nor invite a resend.
    with _client(edge, tls=False) as plain:
        refused = plain.post("/admin/login/", data={"username": admin_user, "password": "x"})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/json"
    assert refused.json()["error"]["code"] == "https_required"
    assert "set-cookie" not in refused.headers


def test_with_tls_off_the_admin_works_over_plain_http(plain_edge: Edge, admin_user: str) -> None:
    with _client(plain_edge, tls=False) as plain:
        login = admin_login(plain, origin=f"http://127.0.0.1:{plain_edge.port}")
    assert login.admin_index.status_code == 200
    cookies = login.cookies()
    for name in ("csrftoken", "sessionid"):
        assert not cookies[name]["secure"], cookies[name].OutputString()


def test_a_client_cannot_claim_https_over_plain_http(plain_edge: Edge) -> None:
    with _client(plain_edge, tls=False) as plain:
        page = plain.get("/admin/login/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "on"})
    assert page.status_code == 200
    assert not cookies_set(page)["csrftoken"]["secure"]
    assert "strict-transport-security" not in page.headers


def test_a_spoofed_forwarded_host_does_not_pass_django_host_check(edge: Edge) -> None:
    # The test Django allows 127.0.0.1 and localhost. A client's allowed name in X-Forwarded-Host does not
    # stand in for a Host that is not allowed, and a foreign name there is ignored.
    with _client(edge, tls=True) as https:
        refused = https.get("/mark/", headers={"Host": "evil.example", "X-Forwarded-Host": "127.0.0.1"})
        ignored = https.get("/mark/", headers={"X-Forwarded-Host": "evil.example"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "bad_request"
    assert ignored.status_code == 200


def _handshake(edge: Edge, context: ssl.SSLContext) -> str:
    """The protocol and cipher agreed, or an exception when the edge refuses the client."""
    assert edge.tls_port is not None
    connection = http.client.HTTPSConnection("127.0.0.1", edge.tls_port, timeout=10, context=context)
    try:
        connection.connect()
        assert isinstance(connection.sock, ssl.SSLSocket)
        cipher = connection.sock.cipher()
        assert cipher is not None
        return f"{cipher[1]} {cipher[0]}"
    finally:
        connection.close()


def _client_context(edge: Edge, *, version: ssl.TLSVersion, ciphers: str | None = None) -> ssl.SSLContext:
    assert edge.tls is not None
    context = ssl.create_default_context(cafile=str(edge.tls.cert))
    context.minimum_version = context.maximum_version = version
    if ciphers is not None:
        # Level 0 lets this client offer what the edge must refuse (OpenSSL 3 would not even offer it).
        context.set_ciphers(f"{ciphers}:@SECLEVEL=0")
    return context


# Python deprecates the old versions this test offers on purpose.
@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_tls_1_2_and_1_3_with_forward_secret_ciphers_only(edge: Edge) -> None:
    assert _handshake(edge, _client_context(edge, version=ssl.TLSVersion.TLSv1_3)).startswith("TLSv1.3 ")
    modern = _client_context(edge, version=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-RSA-AES128-GCM-SHA256")
    assert _handshake(edge, modern) == "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256"
    for weak in ("AES128-SHA", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA", "DES-CBC3-SHA"):
        with pytest.raises(ssl.SSLError):
            _handshake(edge, _client_context(edge, version=ssl.TLSVersion.TLSv1_2, ciphers=weak))
    for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        with pytest.raises(ssl.SSLError):
            _handshake(edge, _client_context(edge, version=old, ciphers="ALL"))
