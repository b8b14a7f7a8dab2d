"""The Celery application of the Django project: ``celery -A config worker`` / ``beat``.

Configured from Django settings under the ``CELERY_`` namespace (settings/base.py).
"""

import os

from celery import Celery

from config import project_root_on_path

project_root_on_path()

from jobs.heartbeat import WorkerHeartbeat  # noqa: E402  (importable once the path is set)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The worker's health check reads a file this step touches from the worker's event loop (jobs/heartbeat.py).
app.steps["worker"].add(WorkerHeartbeat)
