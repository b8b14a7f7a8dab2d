"""HTTPS on the real stack with a certificate the user supplies (a self-signed one here): scripts/deploy.sh with
TLS_CERT_FILE and TLS_KEY_FILE turns the TLS listener on, a plain re-deploy keeps it, TLS_DISABLE=1 turns it off.

Each step replaces the Nginx task (stop-first, README "HTTPS"), so this runs once, at the end of the suite's
other edge tests, and leaves the stack as it found it: plain HTTP only.
"""

from __future__ import annotations

import http.client
import os
import ssl
import subprocess
from pathlib import Path

import pytest

from tests.swarm.harness import http_call, script, wait_until

pytestmark = pytest.mark.swarm

HTTPS_PORT = int(os.environ.get("HTTPS_PORT", "8443"))


def _self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", str(key),
         "-out", str(cert), "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _https_get(cert: Path, path: str) -> tuple[int, dict[str, str], bytes]:
    context = ssl.create_default_context(cafile=str(cert))
    connection = http.client.HTTPSConnection("localhost", HTTPS_PORT, context=context, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def _https_answers(cert: Path) -> bool:
    try:
        return _https_get(cert, "/mark/")[0] == 200
    except OSError:
        return False


def test_https_with_a_supplied_certificate_is_kept_by_a_redeploy_and_can_be_turned_off(
    swarm_stack: str, tmp_path: Path
) -> None:
    cert, key = _self_signed(tmp_path)
    try:
        deployed = script("deploy.sh", env={"TLS_CERT_FILE": str(cert), "TLS_KEY_FILE": str(key)}, timeout=900)
        assert deployed.returncode == 0, deployed.stderr[-3000:]
        wait_until(lambda: _https_answers(cert), timeout=60, what="HTTPS on the Nginx task")
        status, headers, _body = _https_get(cert, "/mark/")
        assert status == 200
        assert headers["strict-transport-security"].startswith("max-age=")
        # Plain HTTP still serves, without HSTS.
        plain = http_call("GET", "/mark/")
        assert plain.status == 200 and "strict-transport-security" not in plain.headers

        # `make up` again without the variables keeps the certificate.
        again = script("deploy.sh", timeout=900)
        assert again.returncode == 0, again.stderr[-3000:]
        assert "keeping the certificate" in again.stderr
        assert _https_answers(cert)
    finally:
        off = script("deploy.sh", env={"TLS_DISABLE": "1"}, timeout=900)
    assert off.returncode == 0, off.stderr[-3000:]
    wait_until(lambda: http_call("GET", "/mark/").status == 200, timeout=60, what="plain HTTP after TLS_DISABLE")
    assert not _https_answers(cert)
