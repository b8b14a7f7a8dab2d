"""The jobs API's refusals, each a :class:`ContractError` in the shared body ``{"error": {code, message, fields}}``.

The views and the token check raise them; web.http.ContractErrorMiddleware renders them, as it does the
search's. :func:`domain_errors` turns the jobs domain's own exceptions (jobs.params.ParamsError,
jobs.services.JobConflict) into them, so no view catches anything itself.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from jobs.models import Job
from jobs.params import ParamsError
from jobs.services import JobConflict
from search_contract import ContractError
from search_contract.errors import validation_error

View = Callable[..., HttpResponse]


def job_url(job_id: int) -> str:
    """The job's path (/api/jobs/ID/): relative, so it is right behind any host name and scheme."""
    return reverse("jobs:job-detail", kwargs={"job_id": job_id})


def request_invalid(fields: dict[str, str]) -> ContractError:
    """The search's 400, bounded alike (search_contract/errors.py): as many unknown names as a body holds
    still answer a small error."""
    return validation_error(fields, subject="jobs request")


def job_conflict(job: Job) -> ContractError:
    url = job_url(job.pk)
    return ContractError(
        status=409,
        code="job_conflict",
        message=f"A {job.kind} job is already {job.status}: {url} (one runs at a time).",
        fields={"kind": f"job {job.pk} is already {job.status}: {url}"},
    )


def job_not_found(job_id: int) -> ContractError:
    return ContractError(status=404, code="not_found", message=f"No job {job_id}.")


def body_too_large(*, limit: int, field: str = "file") -> ContractError:
    """The same code as Nginx's 413 for a body over a route's limit (nginx/nginx.conf, @edge_body_too_large)."""
    return ContractError(
        status=413,
        code="body_too_large",
        message=f"The request body is larger than this route accepts ({limit} bytes).",
        fields={field: f"must be at most {limit} bytes"},
    )


def length_required() -> ContractError:
    return ContractError(
        status=411,
        code="length_required",
        message="Send the upload with a Content-Length (Nginx does so for a chunked upload).",
    )


# RFC 6750, section 3: a request without credentials gets the bare challenge; one with a bad token also says why.
_BEARER_CHALLENGE = 'Bearer realm="jobs"'


def token_missing() -> ContractError:
    return ContractError(
        status=401,
        code="unauthorized",
        message="This endpoint needs an API token: send Authorization: Bearer <token>.",
        headers={"WWW-Authenticate": _BEARER_CHALLENGE},
    )


def token_needed_for(fields: list[str]) -> ContractError:
    """An anonymous read asked for fields that only a token's holder sees (jobs.selectors.JOB_PRIVATE_FIELDS)."""
    return ContractError(
        status=401,
        code="unauthorized",
        message=f"The fields {', '.join(fields)} need an API token: send Authorization: Bearer <token>.",
        fields={"fields": f"{', '.join(fields)}: only with an API token"},
        headers={"WWW-Authenticate": _BEARER_CHALLENGE},
    )


def token_invalid() -> ContractError:
    return ContractError(
        status=401,
        code="unauthorized",
        message="The API token is malformed or unknown.",
        headers={"WWW-Authenticate": f'{_BEARER_CHALLENGE}, error="invalid_token"'},
    )


def token_revoked() -> ContractError:
    return ContractError(status=403, code="forbidden", message="This API token was revoked.")


# ParamsError names a job parameter ("parts") or a field of the request body ("kind", "params", "file").
_BODY_FIELDS = frozenset(("kind", "name", "params", "file", "format", "filename"))


def params_invalid(error: ParamsError) -> ContractError:
    """A job parameter is keyed ``params.NAME`` in the error's fields, as the search keys ``params.color``."""
    return request_invalid(
        {name if name in _BODY_FIELDS else f"params.{name}": reason for name, reason in error.fields.items()}
    )


def domain_errors(view: View) -> View:
    """Raise the jobs domain's refusals as the API's errors (400 for bad parameters, 409 for a conflict)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ParamsError as error:
            raise params_invalid(error) from None
        except JobConflict as conflict:
            raise job_conflict(conflict.job) from None

    return wrapper
