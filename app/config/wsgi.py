"""WSGI entry point: ``config.wsgi:application`` with ``app/`` as the working directory."""

import os

from config import project_root_on_path

project_root_on_path()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
