"""Django's API docs page (/api/docs/, web/api_docs.html) renders in a real headless browser with no other host.

Its own script fetches /api/openapi.json and builds the operations; tests/jobs/api/test_openapi.py reads the
served HTML, this one proves the browser really renders it where no host but the service's resolves.
"""

from __future__ import annotations

from tests.browser import api_docs_rendered, page_render
from tests.servers import Server


def test_api_docs_page_renders_offline(django_server: Server) -> None:
    api_docs_rendered(page_render(f"{django_server.base_url}/api/docs/"))
