"""The Django project: settings, URLs, WSGI entry point and server config."""

from pathlib import Path

# Where this package's parent is: app/ in a checkout (editable install), site-packages in the images.
APP_DIR = Path(__file__).resolve().parent.parent
