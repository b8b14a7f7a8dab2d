from django.contrib import admin
from django.urls import path

from catalog import views

urlpatterns = [
    path("search/part/", views.search_part, name="search-part"),
    path("mark/", views.marks, name="mark-list"),
    path("model/", views.models, name="model-list"),
    path("healthz", views.healthz, name="healthz"),
    path("livez", views.livez, name="livez"),
    path("admin/", admin.site.urls),
]

handler404 = "catalog.http.handler404"
handler500 = "catalog.http.handler500"
