"""The one error type of the API and the JSON body both services render for it."""

from __future__ import annotations

from typing import Any


class ContractError(Exception):
    """A request the API refuses; rendered as ``{"error": {...}}`` with ``status``."""

    def __init__(
        self,
        *,
        status: int,
        code: str,
        message: str,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(code=self.code, message=self.message, fields=self.fields)


def error_body(*, code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": dict(fields or {})}}


def validation_error(fields: dict[str, str]) -> ContractError:
    names = ", ".join(sorted(fields))
    return ContractError(
        status=400,
        code="validation_error",
        message=f"Invalid search request: {names}.",
        fields=fields,
    )


def method_not_allowed(*, method: str, allowed: str) -> ContractError:
    return ContractError(
        status=405,
        code="method_not_allowed",
        message=f"Method {method} is not allowed here; use {allowed}.",
        headers={"Allow": allowed},
    )


def internal_error() -> ContractError:
    """An unexpected failure (a bug): no detail leaks to the client. Nginx's own 500 page says the same bytes."""
    return ContractError(status=500, code="internal_error", message="The server could not answer this request.")


def not_found() -> ContractError:
    return ContractError(status=404, code="not_found", message="No such resource.")


# Seconds a client should wait before retrying when the database is away (Retry-After).
DATABASE_RETRY_AFTER_SECONDS = 5


def database_unavailable() -> ContractError:
    """The database cannot be reached right now: a quick 503, never a hang or a 500."""
    return ContractError(
        status=503,
        code="database_unavailable",
        message="The catalog database is unavailable; retry shortly.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


# Seconds a client should wait before retrying a request that was shed under load (Retry-After).
OVERLOADED_RETRY_AFTER_SECONDS = 1


def overloaded() -> ContractError:
    """Every database slot of this process stayed busy for the bounded wait: shed fast, never queue for ever."""
    return ContractError(
        status=503,
        code="overloaded",
        message="The service is at capacity; retry shortly.",
        headers={"Retry-After": str(OVERLOADED_RETRY_AFTER_SECONDS)},
    )


def query_timeout() -> ContractError:
    """A statement ran past the request statement timeout (a lock, a lost node, a pathological query)."""
    return ContractError(
        status=503,
        code="query_timeout",
        message="The catalog database did not answer in time; retry shortly.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )
