"""WSGI entry point: ``config.wsgi:application`` with ``app/`` as the working directory."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
