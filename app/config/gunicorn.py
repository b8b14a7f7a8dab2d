"""Gunicorn settings for the Django service: ``gunicorn -c python:config.gunicorn config.wsgi:application``.

Workers and threads: Django is synchronous and a search spends most of its time
waiting for PostgreSQL, so each core gets two processes (2 x cores + 1, the
gunicorn rule of thumb) and each process two database slots (DB_CONCURRENCY).
That keeps every core busy while queries are in flight. Threads (gthread, which
unlike the sync worker keeps Nginx's upstream connections alive) outnumber the
slots, so probes and fast 503s never queue behind slow queries. Each thread holds
at most one database connection. WEB_CONCURRENCY overrides
the process count where os.cpu_count() sees more cores than the container may use.
"""

import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1))
worker_class = "gthread"
# Database slots per process (DB_CONCURRENCY, web.http.DatabaseAdmissionMiddleware) plus four threads
# that never hold a slot for long: requests waiting (boundedly) for a slot, and /livez, /healthz, fast 503s.
threads = int(os.environ.get("WEB_THREADS", int(os.environ.get("DB_CONCURRENCY", "2")) + 4))
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
