from django.contrib import admin
from django.urls import include, path

from catalog import views
from jobs import views as jobs_views

# /livez and /healthz are answered by catalog.middleware.HealthProbeMiddleware, before the host check.
urlpatterns = [
    # A JSON index of the routes below and FastAPI's, with links to the docs pages (catalog/site_index.py).
    path("", views.root_index, name="root-index"),
    path("search/part/", views.search_part, name="search-part"),
    path("mark/", views.marks, name="mark-list"),
    path("model/", views.models, name="model-list"),
    path("api/jobs/", include("jobs.urls")),
    # The OpenAPI 3.1 document of every route above, and a page that shows it (jobs/openapi.py).
    path("api/openapi.json", jobs_views.openapi_document, name="openapi"),
    path("api/docs/", jobs_views.api_docs, name="api-docs"),
    path("admin/", admin.site.urls),
]

handler400 = "catalog.http.handler400"
handler404 = "catalog.http.handler404"
handler500 = "catalog.http.handler500"
