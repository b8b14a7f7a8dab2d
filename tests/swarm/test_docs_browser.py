"""The stack's docs pages render in a real headless browser through Nginx, with no host but the stack's (issue 10).

The same checks as the fast suite's tests/fastapi_search/test_docs_page.py and tests/web/test_api_docs_page.py
(tests/browser.py), here against the images as built: the assets must be in the FastAPI image, and Nginx's
/fastapi/ prefix must reach them. Chromium resolves no host but loopback, as on an offline machine.
"""

from __future__ import annotations

import pytest

from tests.browser import api_docs_rendered, page_render, redoc_rendered, swagger_rendered

pytestmark = pytest.mark.swarm


def test_fastapi_docs_page_renders_offline(swarm_stack: str) -> None:
    swagger_rendered(page_render(f"{swarm_stack}/fastapi/docs"), prefix="/fastapi")


def test_fastapi_redoc_page_renders_offline(swarm_stack: str) -> None:
    redoc_rendered(page_render(f"{swarm_stack}/fastapi/redoc"))


def test_django_api_docs_page_renders_offline(swarm_stack: str) -> None:
    api_docs_rendered(page_render(f"{swarm_stack}/api/docs/"))
