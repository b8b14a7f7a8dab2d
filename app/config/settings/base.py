"""Settings shared by every environment; ``local`` and ``production`` extend them.

Configuration is read once from the environment (``NAME`` or ``NAME_FILE``) and
fails fast naming the missing variable.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from config import APP_DIR
from search_contract import MAX_BODY_BYTES
from search_contract.release import release_from_env
from service_common.environment import DatabaseLimits, InvalidSetting, SearchCacheSettings, env_int, env_value
from service_common.faults import SearchFaults

DATABASE_LIMITS = DatabaseLimits()


def database_from_url(url: str) -> dict[str, object]:
    """Turn ``postgres://user:password@host:port/dbname`` into a Django DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or not parts.path.strip("/"):
        raise InvalidSetting("DATABASE_URL must look like postgres://user:password@host:port/dbname")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        # Persistent connections: one per worker thread, checked before reuse so a
        # restarted database does not turn into failed requests.
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        # libpq connection options: a bounded connect, TCP keep-alives and a bound on unacknowledged
        # writes (a lost node cannot hang a worker thread), and the same request statement timeout as
        # FastAPI (service_common.environment.DatabaseLimits). Migrations lift the statement timeout and
        # set a lock timeout instead (manage.py migrate_locked).
        "OPTIONS": {
            "connect_timeout": DATABASE_LIMITS.connect_timeout_s,
            "keepalives": 1,
            "keepalives_idle": DATABASE_LIMITS.keepalive_idle_s,
            "keepalives_interval": DATABASE_LIMITS.keepalive_interval_s,
            "keepalives_count": DATABASE_LIMITS.keepalive_count,
            "tcp_user_timeout": DATABASE_LIMITS.tcp_user_timeout_ms,
            "application_name": "django",
            "options": f"-c statement_timeout={DATABASE_LIMITS.statement_timeout_ms}",
        },
    }


# GENERAL
# https://docs.djangoproject.com/en/5.2/ref/settings/
BASE_DIR = APP_DIR
DEBUG = False
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# DATABASES
# https://docs.djangoproject.com/en/5.2/ref/settings/#databases
DATABASES = {"default": database_from_url(env_value("DATABASE_URL"))}

# APPS
INSTALLED_APPS = [
    # First: the first app listed owns a management command's name, and catalog's createsuperuser replaces
    # django.contrib.auth's (it applies AUTH_PASSWORD_VALIDATORS with no way round them).
    "catalog",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "jobs",
    # The site-wide HTTP layer (web/__init__.py): an app so that its template (the API docs page) is found.
    "web",
]

# PASSWORDS
# https://docs.djangoproject.com/en/5.2/ref/settings/#auth-password-validators
# Every way to set an admin's password applies them: the admin's add-user and change-password forms, and
# createsuperuser (catalog's, which scripts/admin-user.sh runs). Django's default is none at all.
# 12 characters: the admin can change the whole catalog, and a long passphrase costs a person nothing.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# MIDDLEWARE
# https://docs.djangoproject.com/en/5.2/topics/http/middleware/
MIDDLEWARE = [
    # Outermost: X-Release on every answer, the probes', the 404s' and the 500s' too.
    "web.middleware.ReleaseHeaderMiddleware",
    # First after it: the health probes send Host: localhost, which ALLOWED_HOSTS need not list.
    "web.middleware.HealthProbeMiddleware",
    # Outside the session and CSRF middlewares, so it sees (and marks Secure over HTTPS) the cookies they set.
    "web.middleware.SecureCookiesOverHttpsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves the admin's static files from the image itself (no shared disk).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Test releases only (SEARCH_FAULTS below; absent unless set): before admission, so a delay holds no slot.
    "web.middleware.SearchFaultMiddleware",
    # Bounded database concurrency per process: excess requests get a fast 503, threads stay free for probes.
    "web.http.DatabaseAdmissionMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "web.http.ContractErrorMiddleware",
]

# TEMPLATES (the admin's)
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# STATIC (admin assets, served by the app itself: no shared disk between tasks)
# https://docs.djangoproject.com/en/5.2/howto/static-files/
STATIC_URL = "/static/"
# In a checkout, app/staticfiles (git-ignored). The images install the project into site-packages and set
# DJANGO_STATIC_ROOT to a folder of their own, which collectstatic fills at build time.
STATIC_ROOT = Path(env_value("DJANGO_STATIC_ROOT", str(APP_DIR / "staticfiles")))

# REQUESTS
# A search body larger than the contract allows is refused before it is read. The limit covers request.body
# and a form's non-file fields, not the parts-file upload: jobs.views reads that body in pieces with
# request.read() (which Django does not limit), or Django streams a multipart file to a temporary file.
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_BODY_BYTES

# JOBS API (jobs/views.py)
# https://docs.djangoproject.com/en/5.2/ref/settings/#file-upload-max-memory-size
# The largest request body POST /api/jobs/import/ takes: the parts file itself, or the multipart form around it.
# Nginx refuses bodies over 100 MiB on that route (client_max_body_size in nginx/nginx.conf, held equal to this
# default by tests/jobs/api/test_import_limit.py): a smaller value here refuses earlier, a larger one needs
# Nginx's changed too.
JOBS_IMPORT_MAX_BYTES_DEFAULT = 100 * 1024 * 1024


JOBS_IMPORT_MAX_BYTES = env_int("JOBS_IMPORT_MAX_BYTES", JOBS_IMPORT_MAX_BYTES_DEFAULT, low=1)
# A multipart upload up to 1 MiB stays in memory; a larger one goes to a temporary file while Django parses the
# form, then reaches PostgreSQL a chunk at a time. A gunicorn thread never holds a whole 100 MiB file.
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# LOGGING: everything to stderr, where the container runtime collects it.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# SHUTDOWN: while this file exists the task is draining and /healthz answers 503.
DRAIN_MARKER = env_value("DRAIN_MARKER", "/tmp/draining")

# RELEASE: the X-Release header on every answer, "<colour>-<tag>" (web.middleware.ReleaseHeaderMiddleware):
# the colour from PARTSCAT_SERVICE (the Swarm service's name), the tag from PARTSCAT_RELEASE_TAG (baked into
# the image by scripts/build-images.sh). search_contract/release.py.
RELEASE = release_from_env()

# TEST RELEASES ONLY: PARTSCAT_FAULT_ERROR_SHARE fails that share of searches with a 500, PARTSCAT_FAULT_DELAY_MS
# answers every search that much later (web.middleware.SearchFaultMiddleware, service_common/faults.py).
# Unset: no middleware at all.
SEARCH_FAULTS = SearchFaults.from_env()

# REDIS (Celery's broker and result backend)
# The password comes from a secret (REDIS_PASSWORD_FILE) and never sits in a URL in the environment;
# production refuses to run without one. Empty means a developer's Redis without AUTH.
REDIS_HOST = env_value("REDIS_HOST", "127.0.0.1")
REDIS_PORT = env_int("REDIS_PORT", 6379, low=1)
REDIS_PASSWORD = env_value("REDIS_PASSWORD", "")


def redis_url(*, db: int) -> str:
    """``redis://:password@host:port/db`` for this project's Redis (the password percent-encoded)."""
    auth = f":{quote(REDIS_PASSWORD, safe='')}@" if REDIS_PASSWORD else ""
    return f"redis://{auth}{REDIS_HOST}:{REDIS_PORT}/{db}"


# JOBS (app/jobs: runner.py, services.py, kinds/)
# A running job renews job.heartbeat_at every JOBS_HEARTBEAT_SECONDS (from a thread of its own, so a long
# statement or a slow feed does not stop it). A running job whose heartbeat is older than JOBS_LEASE_SECONDS
# lost its worker: the reaper (every JOBS_REAPER_INTERVAL_SECONDS, from beat) queues it again, or fails it once
# it has been started JOBS_MAX_ATTEMPTS times. A queued job that no worker took within
# JOBS_REQUEUE_AFTER_SECONDS (its message was lost, or never sent while the broker was down) is sent again.
JOBS_MAX_ATTEMPTS = env_int("JOBS_MAX_ATTEMPTS", 3, low=1)
JOBS_HEARTBEAT_SECONDS = env_int("JOBS_HEARTBEAT_SECONDS", 10, low=1)
JOBS_LEASE_SECONDS = env_int("JOBS_LEASE_SECONDS", 60, low=1)
if JOBS_LEASE_SECONDS < 2 * JOBS_HEARTBEAT_SECONDS:
    # One late heartbeat must not hand a live job to a second worker.
    raise InvalidSetting("JOBS_LEASE_SECONDS must be at least twice JOBS_HEARTBEAT_SECONDS")
JOBS_REAPER_INTERVAL_SECONDS = env_int("JOBS_REAPER_INTERVAL_SECONDS", 30, low=1)
JOBS_REQUEUE_AFTER_SECONDS = env_int("JOBS_REQUEUE_AFTER_SECONDS", 120, low=1)
# Parts a seed job commits at a time (each batch is a checkpoint a re-run resumes from).
JOBS_SEED_BATCH_SIZE = env_int("JOBS_SEED_BATCH_SIZE", 5_000, low=1)
# The web process hands a job to the broker inside an HTTP request: it waits this long at most, then leaves the
# job queued for the reaper.
JOBS_ENQUEUE_TIMEOUT_SECONDS = env_int("JOBS_ENQUEUE_TIMEOUT_SECONDS", 2, low=1)

# SUPPLIER FEEDS (app/jobs/kinds/supplier_sync.py)
# Beat creates a supplier_sync job this often; 0 schedules none.
SUPPLIER_SYNC_INTERVAL_SECONDS = env_int("SUPPLIER_SYNC_INTERVAL_SECONDS", 3600, low=0)
# A feed's response larger than this fails the feed (it is read a piece at a time, never past this size).
SUPPLIER_FEED_MAX_BYTES = env_int("SUPPLIER_FEED_MAX_BYTES", 10 * 1024 * 1024, low=1)

# CELERY
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
CELERY_BROKER_URL = redis_url(db=0)
CELERY_RESULT_BACKEND = redis_url(db=1)
# The job row is the result (status, result, error); nothing reads Celery's, so none is stored.
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
# A job is acknowledged when it has run, not when it was received, and goes back
# to the queue if its worker dies: an updated or killed worker loses no job.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One job at a time per process: long jobs must not sit reserved behind another.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Processes per worker container, so one container runs this many jobs at once whatever its CPU count.
CELERY_WORKER_CONCURRENCY = env_int("CELERY_WORKER_CONCURRENCY", 2, low=1)
# Longer than a Redis-visible job may run unacknowledged before it is redelivered. A SIGKILLed worker's job is
# therefore not waited for here: the reaper (JOBS_LEASE_SECONDS) queues it again within a minute.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60}
# A lost broker connection does not cancel the jobs in hand: the job row, not the message, says who runs a
# job, and a redelivered message of a job that is running or done does nothing (jobs/runner.py).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# A job that runs longer is failed (soft limit, in the job) or its process killed (hard limit; the reaper then
# re-runs it, at most JOBS_MAX_ATTEMPTS times).
CELERY_TASK_SOFT_TIME_LIMIT = env_int("JOBS_TIME_LIMIT_SECONDS", 60 * 60, low=1)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Periodic tasks (celery beat, one replica). Each message expires after one interval: behind long jobs, a
# stale tick is dropped instead of piling up.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "jobs-reap": {
        "task": "jobs.job_reap",
        "schedule": float(JOBS_REAPER_INTERVAL_SECONDS),
        "options": {"expires": float(JOBS_REAPER_INTERVAL_SECONDS)},
    },
}
if SUPPLIER_SYNC_INTERVAL_SECONDS:
    CELERY_BEAT_SCHEDULE["supplier-sync"] = {
        "task": "jobs.supplier_sync_schedule",
        "schedule": float(SUPPLIER_SYNC_INTERVAL_SECONDS),
        "options": {"expires": float(SUPPLIER_SYNC_INTERVAL_SECONDS)},
    }

# SEARCH CACHE
# The Redis response cache of POST /search/part/ (catalog/search_cache.py, service_common/search_cache.py):
# SEARCH_CACHE_REDIS_HOST, _PORT and _PASSWORD (or _PASSWORD_FILE) name a memory-only Redis of its own, never
# Celery's broker (which must not evict). Off without a host, or with SEARCH_CACHE=off.
SEARCH_CACHE = SearchCacheSettings.from_env()

# CELERY BEAT
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#beat-max-loop-interval
# Beat wakes at least this often, and touches its heartbeat file each time (jobs/heartbeat.py); the stack's beat
# health check (healthcheck/heartbeat_probe.py) fails once the file is older than a few of these intervals.
CELERY_BEAT_MAX_INTERVAL = env_int("CELERY_BEAT_MAX_INTERVAL", 10, low=1)
CELERY_BEAT_HEARTBEAT_FILE = env_value("CELERY_BEAT_HEARTBEAT_FILE", "/tmp/celerybeat-heartbeat")
# The worker touches its own heartbeat file this often, from its event loop (jobs/heartbeat.py).
CELERY_WORKER_HEARTBEAT_SECONDS = env_int("CELERY_WORKER_HEARTBEAT_SECONDS", 10, low=1)
CELERY_WORKER_HEARTBEAT_FILE = env_value("CELERY_WORKER_HEARTBEAT_FILE", "/tmp/celery-worker-heartbeat")
