from django.contrib import admin
from django.urls import path

from catalog import views

# /livez and /healthz are answered by catalog.middleware.HealthProbeMiddleware, before the host check.
urlpatterns = [
    path("search/part/", views.search_part, name="search-part"),
    path("mark/", views.marks, name="mark-list"),
    path("model/", views.models, name="model-list"),
    path("admin/", admin.site.urls),
]

handler400 = "catalog.http.handler400"
handler404 = "catalog.http.handler404"
handler500 = "catalog.http.handler500"
