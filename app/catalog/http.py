"""JSON in and out for the catalog views: one error type, rendered in one place."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import orjson
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from search_contract import ContractError
from search_contract.errors import database_unavailable, error_body, method_not_allowed, not_found

View = Callable[..., HttpResponse]


def json_response(data: Any, *, status: int = 200) -> HttpResponse:
    return HttpResponse(orjson.dumps(data), status=status, content_type="application/json")


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
        # Connection-level failures (server gone, refused, connect timeout), not errors in a query.
        if isinstance(exception, OperationalError | InterfaceError):
            return error_response(database_unavailable())
        return None


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    return error_response(not_found())


def handler500(request: HttpRequest) -> HttpResponse:
    body = error_body(code="internal_error", message="The server could not answer this request.")
    return json_response(body, status=500)
