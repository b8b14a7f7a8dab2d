"""Settings for real deployments (and the test servers): every secret must be given."""

from config.settings.base import *  # noqa: F403
from service_common.environment import InvalidSetting, MissingSetting, env_value

# SECURITY
# https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
SECRET_KEY = env_value("DJANGO_SECRET_KEY")
if SECRET_KEY in ("changethis", "local-development-only-not-secret") or len(SECRET_KEY) < 32:
    raise InvalidSetting("DJANGO_SECRET_KEY must be a real secret of at least 32 characters")
ALLOWED_HOSTS = [h.strip() for h in env_value("DJANGO_ALLOWED_HOSTS").split(",") if h.strip()]
# Nginx terminates the client connection and says which scheme the client used. It sets X-Forwarded-Proto
# itself ($scheme) and replaces any value a client sent, so the header can be trusted.
# https://docs.djangoproject.com/en/5.2/ref/settings/#secure-proxy-ssl-header
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The host is the Host header, which Nginx passes on as the client sent it (checked against ALLOWED_HOSTS).
# X-Forwarded-Host is not read: it would only be a second name for the same host, and a client's value must not
# stand in for Host in the check. Nginx overwrites X-Forwarded-Host anyway.
# https://docs.djangoproject.com/en/5.2/ref/settings/#use-x-forwarded-host
USE_X_FORWARDED_HOST = False
# Session and CSRF cookies are Secure on HTTPS requests only: web.middleware.SecureCookiesOverHttpsMiddleware.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# REDIS: the stack's Redis requires a password (stack.yml mounts it as a secret); without one, every
# connection would fail with NOAUTH at the first job instead of here.
if not REDIS_PASSWORD:
    raise MissingSetting("REDIS_PASSWORD (or REDIS_PASSWORD_FILE) must be set")
