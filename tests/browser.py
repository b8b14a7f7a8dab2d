"""A real headless browser for the docs pages: Debian's ``chromium``, run once per page.

``page_render`` loads a URL, lets its scripts run, and returns the DOM they left plus every URL the page asked
for (from Chromium's own network log), so a test can prove both that the page rendered and that it needed no
other host. Host names other than loopback do not resolve in this browser, as on a machine without internet:
a page that still loads from a CDN cannot render here, with or without a network.

No Chromium is a failure, not a skip: scripts/system-packages.sh installs it for ``make test``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = "chromium"
# Virtual time the page gets after it loads: Chromium stops the clock while a request is in flight, so this
# bounds the page's own timers, not the network.
VIRTUAL_TIME_BUDGET_MS = 10_000
TIMEOUT_SECONDS = 90
# Only loopback resolves: anything else fails as on an offline machine.
HOST_RESOLVER_RULES = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"


@dataclass(frozen=True, slots=True)
class RenderedPage:
    url: str
    dom: str
    # Every URL requested on behalf of the page (the document, its scripts, styles, XHRs, favicon), in order.
    requests: list[str]

    def foreign_requests(self) -> list[str]:
        """The requests that went to another scheme, host or port than the page's own."""
        own = _origin(self.url)
        return [url for url in self.requests if _origin(url) != own]


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def chromium_path() -> str:
    path = shutil.which(CHROMIUM)
    if path is None:
        pytest.fail(
            f"no `{CHROMIUM}` on PATH: the docs pages are tested in a real browser. "
            "Install it with `bash scripts/system-packages.sh` (Debian's chromium package).",
            pytrace=False,
        )
    return path


def _page_requests(net_log: Path, page_url: str) -> list[str]:
    """URLs from Chromium's net log whose top frame is the page's site (not the browser's own update pings)."""
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    parts = urlsplit(page_url)
    site = f"{parts.scheme}://{parts.hostname}"
    urls: list[str] = []
    for event in log["events"]:
        params = event.get("params") or {}
        if event["type"] != start_job or "url" not in params:
            continue
        top_frame_site = str(params.get("network_isolation_key", "")).split(" ")[0]
        if top_frame_site == site:
            urls.append(params["url"])
    return urls


def page_render(url: str, *, budget_ms: int = VIRTUAL_TIME_BUDGET_MS) -> RenderedPage:
    """Load ``url`` in headless Chromium; the DOM after its scripts ran, and what the page requested."""
    browser = chromium_path()
    with tempfile.TemporaryDirectory(prefix="partscat-chromium-") as scratch:
        net_log = Path(scratch) / "net-log.json"
        command = [
            browser,
            "--headless",
            "--no-sandbox",  # tests run as root on CI machines
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-extensions",
            "--disable-sync",
            # The browser's own calls on a page's behalf (form autofill hints), not the page's.
            "--disable-features=AutofillServerCommunication,OptimizationHints",
            f"--user-data-dir={scratch}/profile",
            f"--host-resolver-rules={HOST_RESOLVER_RULES}",
            f"--log-net-log={net_log}",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            url,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
        if done.returncode != 0 or not done.stdout.strip():
            raise AssertionError(
                f"chromium exited {done.returncode} on {url} with no DOM; its stderr ends:\n{done.stderr[-3000:]}"
            )
        # Chromium writes the log's closing bracket when it exits; it has by now.
        return RenderedPage(url=url, dom=done.stdout, requests=_page_requests(net_log, url))


# What each docs page of the stack shows once its script ran; shared by the fast and the Swarm suite.

# Swagger UI's rendered operation (FastAPI's /docs).
SWAGGER_SEARCH_OPERATION = re.compile(r'class="opblock-summary-path" data-path="/search/part/"')
SWAGGER_ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")
# The operation that web/api_docs.html builds from Django's OpenAPI document (/api/docs/).
API_DOCS_JOBS_OPERATION = '<span class="path">/api/jobs/</span>'


def swagger_rendered(page: RenderedPage, *, prefix: str) -> None:
    """FastAPI's /docs shows the search operation, loaded its assets and document from its own origin (under
    ``prefix``, the root path), and asked no other host."""
    assert SWAGGER_SEARCH_OPERATION.search(page.dom), f"no rendered search operation on {page.url}:\n{page.dom[:2000]}"
    assert page.foreign_requests() == []
    origin = page.url.removesuffix(f"{prefix}/docs")
    for asset in SWAGGER_ASSETS:
        assert f"{origin}{prefix}/docs-assets/{asset}" in page.requests, page.requests
    assert f"{origin}{prefix}/openapi.json" in page.requests, page.requests


def redoc_rendered(page: RenderedPage) -> None:
    """FastAPI's /redoc shows the search operation's path and asked no other host."""
    assert "/search/part/</div>" in page.dom, f"ReDoc did not render the search operation:\n{page.dom[:2000]}"
    assert page.foreign_requests() == []


def api_docs_rendered(page: RenderedPage) -> None:
    """Django's /api/docs/ shows the jobs operations and no error, having asked only its own origin."""
    assert API_DOCS_JOBS_OPERATION in page.dom, f"no rendered jobs operation on {page.url}:\n{page.dom[:2000]}"
    assert '<p id="error" hidden="">' in page.dom, page.dom[:2000]
    assert page.foreign_requests() == []
    assert page.url.removesuffix("/api/docs/") + "/api/openapi.json" in page.requests, page.requests
