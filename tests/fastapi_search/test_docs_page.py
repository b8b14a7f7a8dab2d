"""FastAPI's docs pages render in a real headless browser with no host but the service's own (issue 10).

Run directly (no root path) and as the stack runs it: FASTAPI_ROOT_PATH=/fastapi behind the real Nginx config,
which strips the prefix. Chromium resolves no host but loopback (tests/browser.py), so a page that still
needed a CDN would stay white here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.browser import page_render, redoc_rendered, swagger_rendered
from tests.nginx.edge_server import Edge, running_edge
from tests.servers import Server, start_app

NGINX_DIR = Path(__file__).resolve().parents[2] / "nginx"


def test_docs_page_renders_offline(fastapi_server: Server) -> None:
    swagger_rendered(page_render(f"{fastapi_server.base_url}/docs"), prefix="")


def test_redoc_page_renders_offline(fastapi_server: Server) -> None:
    redoc_rendered(page_render(f"{fastapi_server.base_url}/redoc"))


def test_docs_html_names_only_its_own_paths(fastapi_client: httpx.Client) -> None:
    """Every src and href of the served pages is a path on this service, never a URL with a host."""
    for path in ("/docs", "/redoc"):
        response = fastapi_client.get(path)
        assert response.status_code == 200
        urls = re.findall(r'(?:src|href|url)\s*[=:]\s*["\']([^"\']+)["\']', response.text)
        assert urls, response.text
        assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls


def test_docs_assets_are_a_fixed_list(fastapi_client: httpx.Client) -> None:
    css = fastapi_client.get("/docs-assets/swagger-ui.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "max-age" in css.headers["cache-control"]
    # Only the listed files: not the package's Python, not a path out of its folder.
    for name in ("core.py", "__init__.py", "..%2Fcore.py", "nothing.js"):
        response = fastapi_client.get(f"/docs-assets/{name}")
        assert response.status_code == 404, name
        assert response.json()["error"]["code"] == "not_found"


@pytest.fixture(scope="module")
def prefixed_fastapi(database_url: str, log_dir: Path, drain_marker: Path) -> Iterator[Server]:
    """The FastAPI service as stack.yml configures it: FASTAPI_ROOT_PATH=/fastapi."""
    logs = log_dir / "fastapi-root-path"
    logs.mkdir(exist_ok=True)
    server = start_app("fastapi", database_url, logs, drain_marker, extra_env={"FASTAPI_ROOT_PATH": "/fastapi"})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def edge(prefixed_fastapi: Server) -> Iterator[Edge]:
    """The stack's nginx.conf with that service as its FastAPI peer."""
    with running_edge() as running:
        running.push_peers(django_blue=[], fastapi_blue=[urlsplit(prefixed_fastapi.base_url).port or 80])
        yield running


def test_docs_page_renders_behind_the_edge(edge: Edge) -> None:
    swagger_rendered(page_render(f"http://127.0.0.1:{edge.port}/fastapi/docs"), prefix="/fastapi")


def test_redoc_page_renders_behind_the_edge(edge: Edge) -> None:
    redoc_rendered(page_render(f"http://127.0.0.1:{edge.port}/fastapi/redoc"))


def test_version_1_and_its_document_behind_the_edge(edge: Edge) -> None:
    """/fastapi/v1/: Nginx strips /fastapi as for every FastAPI path; the v1 document names that root path."""
    base = f"http://127.0.0.1:{edge.port}/fastapi"
    document = httpx.get(f"{base}/v1/openapi.json", timeout=10).json()
    assert document["servers"] == [{"url": "/fastapi"}]
    assert set(document["paths"]) == {"/v1/search/part/"}
    unversioned = httpx.post(f"{base}/search/part/", json={"page": 2}, timeout=10)
    versioned = httpx.post(f"{base}/v1/search/part/", json={"page": 2}, timeout=10)
    assert versioned.status_code == unversioned.status_code == 200
    assert versioned.content == unversioned.content
