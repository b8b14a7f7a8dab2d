"""bench-target (for `make bench`, scripts/bench/make_bench.py): the running stack's services as the benchmark
measures them, one JSON object on stdout; changes nothing.

  {"django_service": ..., "fastapi_service": ..., "nginx_service": ..., "postgres_service": ..., "host": ...}

The apps are their live colour's services; ``host`` is a name Django accepts (the first of the live django
service's DJANGO_ALLOWED_HOSTS, as the blue-green smoke checks send), so the benchmark's requests are not
refused when a real domain is configured.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from scripts.control_plane.context import Context
from scripts.control_plane.decisions import edge
from scripts.control_plane.runbook import Failure


def run(ctx: Context, args: Sequence[str]) -> None:
    if args:
        raise Failure("usage: bench-target")
    ctx.require_docker()
    django_name = ctx.service_name("django")
    django = ctx.docker.service(django_name)
    if django is None:
        raise Failure(f"no stack {ctx.stack} running; make up first")
    target = {
        "django_service": django_name,
        "fastapi_service": ctx.service_name("fastapi"),
        "nginx_service": ctx.settings.nginx_service,
        "postgres_service": ctx.service_name("postgres"),
        "host": edge.django_public_host(django.env),
    }
    ctx.runbook.print(json.dumps(target))
