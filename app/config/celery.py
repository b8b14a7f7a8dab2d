"""The Celery application of the Django project: ``celery -A config worker`` / ``beat``.

Configured from Django settings under the ``CELERY_`` namespace (settings/base.py).
"""

import os

from celery import Celery

from config import project_root_on_path

project_root_on_path()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
