"""The one error type of the API and the JSON body both services render for it.

An error body stays small whatever the input: it names at most ``MAX_ERROR_FIELDS`` problems, each field
name cut to ``MAX_ECHOED_NAME`` characters and each reason to ``MAX_REASON_CHARS``, and says how many more
there were. A 64 KiB body of unknown keys was answered with every key twice (in ``fields`` and in the
message): 194 KB, or 530 KB for unknown ``params`` keys, for anyone who asked. Now 566 bytes and 1.5 KB;
16 KB at most, for names of 64 control characters (6 bytes each once JSON-escaped).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The problems an error lists (the first ones found, in the order of the request); the message counts the rest.
MAX_ERROR_FIELDS = 20
# A field name echoed back (an unknown key is the client's own text) is cut to this many characters.
MAX_ECHOED_NAME = 64
# A reason is ours, but may quote the client (an unknown ?fields= name): cut to this many characters.
MAX_REASON_CHARS = 200


def fields_bounded(fields: Mapping[str, str]) -> tuple[dict[str, str], int]:
    """The first MAX_ERROR_FIELDS problems with names and reasons cut to size; and how many were left out.

    Two names that are equal once cut count once: the first one's reason is shown."""
    shown: dict[str, str] = {}
    for name, reason in fields.items():
        if len(shown) == MAX_ERROR_FIELDS:
            break
        shown.setdefault(name[:MAX_ECHOED_NAME], reason[:MAX_REASON_CHARS])
    return shown, len(fields) - len(shown)


class ContractError(Exception):
    """A request the API refuses; rendered as ``{"error": {...}}`` with ``status``.

    ``fields`` is kept bounded (:func:`fields_bounded`); ``fields_left_out`` counts the problems not shown."""

    def __init__(
        self,
        *,
        status: int,
        code: str,
        message: str,
        fields: Mapping[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields, self.fields_left_out = fields_bounded(fields or {})
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(code=self.code, message=self.message, fields=self.fields)


def error_body(*, code: str, message: str, fields: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields_bounded(fields or {})[0]}}


def validation_error(fields: Mapping[str, str], *, subject: str = "search request") -> ContractError:
    """The 400 for bad input (the search's, or the jobs API's with ``subject="jobs request"``): the message
    names the problems shown in ``fields`` and counts the others."""
    shown, left_out = fields_bounded(fields)
    names = ", ".join(sorted(shown))
    more = f" and {left_out} more" if left_out else ""
    return ContractError(
        status=400,
        code="validation_error",
        message=f"Invalid {subject}: {names}{more}.",
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


def injected_fault() -> ContractError:
    """A test release's deliberate 500 (PARTSCAT_FAULT_ERROR_SHARE, service_common/faults.py): never in a real one."""
    return ContractError(
        status=500, code="injected_fault", message="This test release fails a share of searches on purpose."
    )


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
