"""The Celery application of the Django project: ``celery -A config worker`` / ``beat``.

Configured from Django settings under the ``CELERY_`` namespace (settings/base.py).
"""

import os

from celery import Celery

from jobs.heartbeat import WorkerHeartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The worker's health check reads a file this step touches from the worker's event loop (jobs/heartbeat.py).
app.steps["worker"].add(WorkerHeartbeat)
