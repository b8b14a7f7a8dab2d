"""JSON in and out for the catalog views: one error type, rendered in one place."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from psycopg.errors import QueryCanceled

from search_contract import ContractError
from search_contract.errors import (
    database_unavailable,
    error_body,
    internal_error,
    method_not_allowed,
    not_found,
    overloaded,
    query_timeout,
)

View = Callable[..., HttpResponse]


def json_response(data: Any, *, status: int = 200) -> HttpResponse:
    return json_body_response(orjson.dumps(data), status=status)


def json_body_response(body: bytes, *, status: int = 200) -> HttpResponse:
    """A response for a JSON body that is already rendered (the search cache stores the bytes)."""
    return HttpResponse(body, status=status, content_type="application/json")


def error_response(error: ContractError) -> HttpResponse:
    response = json_response(error.body(), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def allow_methods(*methods: str) -> Callable[[View], View]:
    """Answer any other method with a 405 JSON error (Django's own answer is HTML)."""
    allowed = ", ".join(methods)

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                raise method_not_allowed(method=str(request.method), allowed=allowed)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class ContractErrorMiddleware:
    """Render a :class:`ContractError` raised by any view as the JSON error body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, ContractError):
            return error_response(exception)
        if isinstance(exception, OperationalError) and isinstance(exception.__cause__, QueryCanceled):
            # The request statement timeout fired: a lock held too long, a lost node, a pathological query.
            return error_response(query_timeout())
        # Connection-level failures (server gone, refused, connect timeout), not errors in a query.
        if isinstance(exception, OperationalError | InterfaceError):
            return error_response(database_unavailable())
        return None


class DatabaseAdmissionMiddleware:
    """Bounded database concurrency per process: at most ``DB_CONCURRENCY`` requests do database work at once.

    A request that finds every slot busy waits at most ``DB_QUEUE_WAIT_MS``, then gets a fast JSON 503 with
    Retry-After. The probes never get here (web.middleware.HealthProbeMiddleware answers them first), and
    gunicorn runs more threads than slots (config/gunicorn.py), so a thread is always free for them however
    slow the database is: load and locks never turn into failed health checks and replaced tasks. Nginx bounds
    the queue in front of each task too (nginx/lua/admission.lua).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        limits = settings.DATABASE_LIMITS
        self.slots = threading.BoundedSemaphore(limits.concurrency)
        self.queue_wait_s = limits.queue_wait_s

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.slots.acquire(timeout=self.queue_wait_s):
            return error_response(overloaded())
        try:
            return self.get_response(request)
        finally:
            self.slots.release()


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's refusals (a Host not in ALLOWED_HOSTS, a body over the limit outside the search) as JSON."""
    if isinstance(exception, DisallowedHost):
        return json_response(error_body(code="bad_request", message="This host name is not served here."), status=400)
    return json_response(error_body(code="bad_request", message="The request was refused."), status=400)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    return error_response(not_found())


def handler500(request: HttpRequest) -> HttpResponse:
    return error_response(internal_error())
