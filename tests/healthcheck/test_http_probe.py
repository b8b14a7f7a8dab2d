"""healthcheck/http_probe.py, the curl-free Docker HEALTHCHECK, against real servers on loopback:
2xx passes; any other status, a timeout, a refused port or a non-HTTP URL fails; the Host header and JSON body
it is told to send arrive; a proxy in the environment is not used."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from healthcheck import http_probe
from tests.loopback_http import refused_port, scripted_server, silent_port

PROBE = Path(__file__).resolve().parents[2] / "healthcheck" / "http_probe.py"
ANSWERS = {
    "/ok": (200, b"ok"),
    "/empty": (204, b""),
    "/draining": (503, b"draining"),
    "/broken": (500, b"oops"),
    "/moved": (301, b""),
}


@pytest.mark.parametrize("path", ["/ok", "/empty"])
def test_a_2xx_answer_passes(path: str) -> None:
    with scripted_server(ANSWERS) as server:
        healthy, detail = http_probe.http_probe(url=server.url(path), timeout=2, host=None)
    assert healthy
    assert detail.endswith(f"answered {ANSWERS[path][0]}")


@pytest.mark.parametrize(("path", "status"), [("/draining", 503), ("/broken", 500), ("/missing", 404)])
def test_any_other_status_fails(path: str, status: int) -> None:
    with scripted_server(ANSWERS) as server:
        healthy, detail = http_probe.http_probe(url=server.url(path), timeout=2, host=None)
    assert not healthy
    assert detail == f"{server.url(path)} answered {status}"


def test_a_server_that_never_answers_fails_within_the_timeout() -> None:
    with silent_port() as port:
        started = time.monotonic()
        healthy, detail = http_probe.http_probe(url=f"http://127.0.0.1:{port}/healthz", timeout=0.3, host=None)
        elapsed = time.monotonic() - started
    assert not healthy
    assert "unreachable" in detail and "timed out" in detail
    assert elapsed < 2


def test_a_refused_port_fails() -> None:
    healthy, detail = http_probe.http_probe(url=f"http://127.0.0.1:{refused_port()}/healthz", timeout=2, host=None)
    assert not healthy
    assert "unreachable" in detail


@pytest.mark.parametrize("url", ["127.0.0.1:8080/healthz", "file:///etc/passwd", "ftp://127.0.0.1/"])
def test_only_http_urls_are_probed(url: str) -> None:
    assert http_probe.http_probe(url=url, timeout=1, host=None) == (False, f"{url}: only http(s) URLs are probed")


def test_the_host_header_is_the_one_given_else_the_urls() -> None:
    with scripted_server(ANSWERS) as server:
        assert http_probe.http_probe(url=server.url("/ok"), timeout=2, host="localhost")[0]
        assert http_probe.http_probe(url=server.url("/ok"), timeout=2, host=None)[0]
    assert [request.headers["host"] for request in server.received] == ["localhost", f"127.0.0.1:{server.port}"]
    assert [request.method for request in server.received] == ["GET", "GET"]


def test_a_json_body_is_posted_as_json() -> None:
    body = '{"q": "bumper"}'
    with scripted_server(ANSWERS) as server:
        assert http_probe.http_probe(url=server.url("/ok"), timeout=2, host=None, json_body=body)[0]
    (request,) = server.received
    assert (request.method, request.headers["content-type"], request.body) == (
        "POST",
        "application/json",
        body.encode(),
    )


def test_a_proxy_in_the_environment_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # The probe talks to its own container; a proxy set for the image's other traffic must not get in the way.
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{refused_port()}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with scripted_server(ANSWERS) as server:
        assert http_probe.http_probe(url=server.url("/ok"), timeout=2, host=None)[0]


def test_main_exits_0_or_1_and_prints_why(capsys: pytest.CaptureFixture[str]) -> None:
    with scripted_server(ANSWERS) as server:
        assert http_probe.main([server.url("/ok")]) == 0
        assert http_probe.main([server.url("/moved")]) == 1
        assert http_probe.main([server.url("/ok"), "--timeout", "0.5", "--host", "example.test"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{server.url('/ok')} answered 200", f"{server.url('/moved')} answered 301", out[2]]
    assert server.received[-1].headers["host"] == "example.test"


def test_the_image_runs_it_as_a_plain_file() -> None:
    # As the HEALTHCHECKs run it: the interpreter and the file path, no package on the path.
    with scripted_server(ANSWERS) as server:
        passed = subprocess.run([sys.executable, str(PROBE), server.url("/ok")], capture_output=True, check=False)
        failed = subprocess.run([sys.executable, str(PROBE), server.url("/draining")], capture_output=True, check=False)
    assert (passed.returncode, failed.returncode) == (0, 1)
