"""The jobs API's routes, under /api/jobs/ (config/urls.py)."""

from django.urls import path

from jobs import views

app_name = "jobs"
urlpatterns = [
    path("", views.jobs, name="jobs"),
    path("import/", views.job_import, name="job-import"),
    path("<int:job_id>/", views.job, name="job-detail"),
]
