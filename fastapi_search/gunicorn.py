"""Gunicorn settings for FastAPI: ``gunicorn -c python:fastapi_search.gunicorn fastapi_search.main:app``.

One uvicorn worker per core: each is an asyncio event loop (uvloop, httptools)
that keeps its core busy with many requests in flight while PostgreSQL answers,
so more processes than cores would only add context switches and connections.
Gunicorn supervises them (restarts, graceful SIGTERM). WEB_CONCURRENCY overrides
the count where os.cpu_count() sees more cores than the container may use.
"""

import os

bind = os.environ.get("BIND", "0.0.0.0:8001")
workers = int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 1))
worker_class = "uvicorn_worker.UvicornWorker"
keepalive = 75
timeout = 30
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "20"))
max_requests = 50_000
max_requests_jitter = 5_000
accesslog = "-" if os.environ.get("ACCESS_LOG", "1") == "1" else None
errorlog = "-"
forwarded_allow_ips = "*"
