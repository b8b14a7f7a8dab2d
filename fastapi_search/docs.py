"""The API docs pages, Swagger UI at /docs and ReDoc at /redoc, with every asset served by this service.

FastAPI's own pages load their script, styles and favicon from public hosts; where the stack has no internet
the page stays white. The assets here come from the ``fastapi-offline`` wheel (Swagger UI 5, which renders
FastAPI's OpenAPI 3.1 document, and ReDoc), installed like any other dependency: nothing is committed to git.

Only that package's files are used, not its ``FastAPIOffline`` factory: the routes below build every URL from
the request's root path (``/fastapi`` behind Nginx, which strips the prefix; empty when run directly). A
StaticFiles mount is not used on purpose: behind a prefix-stripping proxy with ``root_path`` set, Starlette's
Mount no longer finds the file (the path does not start with the mount's root path), so a route serves a fixed
list of files instead.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from search_contract.errors import not_found

ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
# Under the service's own paths, so Nginx's /fastapi/ location serves them too (no Nginx change).
ASSETS_PATH = "/docs-assets"
# The files the pages load, and their types: nothing else in the package's folder is served.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
REDOC_CONTENT_SECURITY_POLICY = "img-src 'self' data:"
# Versioned by the wheel, not by the URL: a day's cache, revalidated by ETag after that.
ASSETS_CACHE_CONTROL = "public, max-age=86400"


def _prefix(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def docs_routes_add(app: FastAPI, *, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Add the docs pages and their assets to ``app``, created with ``docs_url=None, redoc_url=None``."""
    if app.docs_url is not None or app.redoc_url is not None:
        raise ValueError("create the app with docs_url=None and redoc_url=None: FastAPI's pages load from a CDN")
    openapi_url = app.openapi_url
    if openapi_url is None:
        raise ValueError("the docs pages need the app's OpenAPI document (openapi_url is None)")

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        prefix = _prefix(request)
        return get_swagger_ui_html(
            openapi_url=prefix + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{prefix}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{prefix}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{prefix}{ASSETS_PATH}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        prefix = _prefix(request)
        page = get_redoc_html(
            openapi_url=prefix + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{prefix}{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{prefix}{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )
        # ReDoc's footer shows Redocly's logo from their CDN; images from elsewhere are simply not loaded.
        page.headers["Content-Security-Policy"] = REDOC_CONTENT_SECURITY_POLICY
        return page

    @app.get(ASSETS_PATH + "/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> FileResponse:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise not_found()
        return FileResponse(ASSETS_DIR / name, media_type=media_type, headers={"Cache-Control": ASSETS_CACHE_CONTROL})
