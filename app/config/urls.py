from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from catalog import views
from web import views as site_views

# /livez and /healthz are answered by web.middleware.HealthProbeMiddleware, before the host check.

# The API's version prefix (README, "Versions"): the unversioned paths are the task's own and are v1 too.
V1_PREFIX = "/v1"


def api_v1() -> list[URLPattern | URLResolver]:
    """Version 1 of the API: the searches, the lists and the jobs API.

    Served twice, at the unversioned paths and under /v1/, by the same views: an answer is the same bytes on
    both (the job and page URLs inside it name the unversioned paths, which are the same v1). A v2 gets a list
    of its own under /v2/, beside this one.
    """
    return [
        path("search/part/", views.search_part, name="search-part"),
        path("mark/", views.marks, name="mark-list"),
        path("model/", views.models, name="model-list"),
        path("api/jobs/", include("jobs.urls")),
    ]


# Each version's OpenAPI document describes its own paths (web/openapi.py), and a page shows it.
v1_routes = [
    *api_v1(),
    path("api/openapi.json", site_views.openapi_document, {"prefix": V1_PREFIX}, name="openapi"),
    path("api/docs/", site_views.api_docs, {"openapi_url_name": "v1:openapi"}, name="api-docs"),
]

urlpatterns = [
    # A JSON index of the routes below and FastAPI's, with links to the docs pages (web/site_index.py).
    path("", site_views.root_index, name="root-index"),
    *api_v1(),
    # The OpenAPI 3.1 document of every route above, and a page that shows it (web/openapi.py).
    path("api/openapi.json", site_views.openapi_document, name="openapi"),
    path("api/docs/", site_views.api_docs, name="api-docs"),
    # Names under v1: reverse("v1:search-part"), reverse("v1:jobs:jobs").
    path("v1/", include((v1_routes, "v1"))),
    # Not versioned: the admin (and the probes, above).
    path("admin/", admin.site.urls),
]

handler400 = "web.http.handler400"
handler404 = "web.http.handler404"
handler500 = "web.http.handler500"
