"""What the stack serves, for a newcomer who opens the root URL: each route with its methods and a link."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

# FastAPI's routes: Nginx sends /fastapi/ to the FastAPI service (nginx/nginx.conf), so Django cannot reverse() them.
FASTAPI_PREFIX = "/fastapi"


def _link(name: str, href: str, methods: list[str], title: str) -> dict[str, Any]:
    return {"name": name, "href": href, "methods": methods, "title": title}


def site_index() -> dict[str, Any]:
    """The JSON index at /: the searches, the lists, the jobs API, the docs pages and the admin, as links."""
    return {
        "name": "partscat",
        "title": "Car-parts catalog: the same part search on Django and on FastAPI, behind one Nginx.",
        "links": [
            _link("search-part", reverse("search-part"), ["POST"], "Part search (Django); JSON body"),
            _link("fastapi-search-part", f"{FASTAPI_PREFIX}/search/part/", ["POST"], "Part search (FastAPI)"),
            _link("mark-list", reverse("mark-list"), ["GET"], "Visible marks"),
            _link("model-list", reverse("model-list"), ["GET"], "Visible models with their mark"),
            _link("jobs", reverse("jobs:jobs"), ["GET", "POST"], "Background jobs (Bearer token)"),
            _link("job-import", reverse("jobs:job-import"), ["POST"], "Parts-file import job (Bearer token)"),
            _link("api-docs", reverse("api-docs"), ["GET"], "Django API docs (searches, lists, jobs)"),
            _link("api-openapi", reverse("openapi"), ["GET"], "Django API's OpenAPI document"),
            _link("fastapi-docs", f"{FASTAPI_PREFIX}/docs", ["GET"], "FastAPI docs (Swagger UI)"),
            _link("fastapi-openapi", f"{FASTAPI_PREFIX}/openapi.json", ["GET"], "FastAPI's OpenAPI document"),
            # Version 1 under its prefix: the same answers as the unversioned paths above (README, "Versions").
            _link("v1-api-docs", reverse("v1:api-docs"), ["GET"], "Django API docs, /v1/ paths"),
            _link("v1-api-openapi", reverse("v1:openapi"), ["GET"], "Django API's OpenAPI document, /v1/ paths"),
            _link(
                "fastapi-v1-openapi",
                f"{FASTAPI_PREFIX}/v1/openapi.json",
                ["GET"],
                "FastAPI's OpenAPI document, /fastapi/v1/ paths",
            ),
            _link("admin", reverse("admin:index"), ["GET"], "Django admin (first account: scripts/admin-user.sh)"),
        ],
    }
