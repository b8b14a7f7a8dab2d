"""Settings for a developer's machine: debug on, a throwaway secret key allowed."""

from config.settings.base import *  # noqa: F403
from service_common.environment import env_value

DEBUG = True
SECRET_KEY = env_value("DJANGO_SECRET_KEY", "local-development-only-not-secret")
ALLOWED_HOSTS = ["*"]
