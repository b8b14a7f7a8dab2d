"""The jobs API (/api/jobs/) and the API's OpenAPI document and docs page: thin views, JSON in and out.

Each view parses the request (jobs/api_requests.py), calls one function and answers JSON. Refusals are
ContractErrors in the shared error body, rendered by web.http.ContractErrorMiddleware.

Reads: open, but a job's name, params, result and error only with a token (jobs/selectors.py says why); the
answer varies with the Authorization header, and says so (Vary).

CSRF: every view here is csrf_exempt. Writes are authenticated by a bearer token that a client must put in
the Authorization header itself; a browser never adds it to a cross-site request, and no cookie counts here.
So a forged cross-site request carries no credentials, and CSRF protection would only refuse API clients.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt

from jobs.api_requests import import_upload_parse, job_create_request_parse, job_fields_parse, job_list_query_parse
from jobs.auth import token_reader, token_required
from jobs.errors import domain_errors, job_url, token_needed_for
from jobs.models import ApiToken, Job
from jobs.selectors import JOB_PRIVATE_FIELDS, JobPage, job_detail, job_list
from jobs.services import job_create, job_import_create
from web.http import allow_methods, json_response


def _accepted(job: Job) -> HttpResponse:
    """202: the job is queued; its URL (also in Location) shows how it goes."""
    url = job_url(job.pk)
    response = json_response({"id": job.pk, "url": url, "status": job.status}, status=202)
    response["Location"] = url
    return response


def _page_url(page: int, sort: str) -> str:
    return f"{reverse('jobs:jobs')}?{urlencode({'page': str(page), 'sort': sort})}"


def _page_body(result: JobPage, *, sort: str) -> dict[str, object]:
    """The search's envelope (response, count, page) and the neighbouring pages' URLs."""
    return {
        "response": result.rows,
        "count": result.count,
        "page": result.page,
        "next": _page_url(result.page + 1, sort) if result.page < result.pages else None,
        "previous": _page_url(result.page - 1, sort) if result.page > 1 else None,
    }


def _read_response(data: object) -> HttpResponse:
    """A job read's answer, which depends on the Authorization header as much as on the URL."""
    response = json_response(data)
    patch_vary_headers(response, ["Authorization"])
    return response


@csrf_exempt  # token-authenticated JSON API (module docstring)
@allow_methods("GET", "HEAD", "POST")
def jobs(request: HttpRequest) -> HttpResponse:
    """GET: a page of jobs (open; names with a token). POST: create a seed or supplier_sync job (token)."""
    if request.method == "POST":
        return _job_create(request)
    private = token_reader(request) is not None
    query = job_list_query_parse(request.GET)
    page = job_list(page=query.page, sort=query.sort, private=private)
    return _read_response(_page_body(page, sort=query.sort))


@token_required
@domain_errors
def _job_create(request: HttpRequest, *, token: ApiToken) -> HttpResponse:
    job_request = job_create_request_parse(request)
    return _accepted(job_create(kind=job_request.kind, name=job_request.name, params=job_request.params, token=token))


@csrf_exempt  # token-authenticated JSON API (module docstring)
@allow_methods("POST")
@token_required
@domain_errors
def job_import(request: HttpRequest, *, token: ApiToken) -> HttpResponse:
    """Create an import job from an uploaded parts file (multipart ``file``, or the raw body)."""
    upload = import_upload_parse(request, max_bytes=settings.JOBS_IMPORT_MAX_BYTES)
    job = job_import_create(
        file_format=upload.format, filename=upload.filename, size=upload.size, pieces=upload.pieces, token=token
    )
    return _accepted(job)


@csrf_exempt  # read-only: lets a POST get the JSON 405, not the CSRF page
@allow_methods("GET", "HEAD")
def job(request: HttpRequest, job_id: int) -> HttpResponse:
    """One job (open; name, params, result and error with a token)."""
    private = token_reader(request) is not None
    fields = job_fields_parse(request.GET)
    if not private and fields & JOB_PRIVATE_FIELDS:
        raise token_needed_for(sorted(fields & JOB_PRIVATE_FIELDS))
    return _read_response(job_detail(job_id=job_id, fields=fields, private=private))
