"""``X-Release: <colour>-<tag>`` on every answer of the FastAPI service (search_contract/release.py).

Every answer means every one: the routes', the 404s and 405s, and the 500s and 503s that the ``Exception``
handler renders. Starlette runs that handler in ServerErrorMiddleware, the outermost layer, which sends its
answer past every middleware added with ``add_middleware``. So the header is added by a layer around the
whole stack instead: :class:`ReleasedFastAPI` wraps what ``build_middleware_stack`` builds.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from search_contract.release import RELEASE_HEADER


class ReleaseHeaderMiddleware:
    """Pure ASGI: appends the header to each response's start message; the body is never touched."""

    def __init__(self, app: ASGIApp, *, release: str) -> None:
        self.app = app
        self.header = (RELEASE_HEADER.lower().encode("latin-1"), release.encode("latin-1"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_release(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self.header]}
            await send(message)

        await self.app(scope, receive, send_with_release)


class ReleasedFastAPI(FastAPI):
    """A FastAPI application whose every answer carries ``X-Release: release``."""

    def __init__(self, *, release: str, **kwargs: Any) -> None:
        self.release = release
        super().__init__(**kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        return ReleaseHeaderMiddleware(super().build_middleware_stack(), release=self.release)
