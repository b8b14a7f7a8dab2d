"""Gunicorn settings for the Django service: ``gunicorn -c config/gunicorn.py config.wsgi:application``.

Workers and threads: Django is synchronous and a search spends most of its time
waiting for PostgreSQL, so each core gets two processes (2 x cores + 1, the
gunicorn rule of thumb) and each process two threads (gthread). That keeps every
core busy while queries are in flight, and gthread, unlike the sync worker, keeps
Nginx's upstream connections alive between requests. Each thread holds at most
one database connection: workers x threads per task. WEB_CONCURRENCY overrides
the process count where os.cpu_count() sees more cores than the container may use.
"""

import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "2"))
# Upstream keepalive from Nginx: keep idle connections longer than Nginx does.
keepalive = 75
# A worker stuck longer than this is killed and replaced.
timeout = 30
# On SIGTERM, in-flight requests get this long to finish.
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "20"))
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = 20_000
max_requests_jitter = 2_000
accesslog = "-" if os.environ.get("ACCESS_LOG", "1") == "1" else None
errorlog = "-"
# Nginx in front is the only client; trust its X-Forwarded-* headers.
forwarded_allow_ips = "*"
