"""The OpenAPI 3.1 documents of Django's API: the search, /mark/, /model/ and the jobs API, one per version.

The unversioned paths' document is served at /api/openapi.json and shown by the page at /api/docs/; the same
routes under /v1/ (config/urls.py) at /v1/api/openapi.json and /v1/api/docs/. Both are version 1.

Validation lives in the code (the search contract, jobs/api_requests.py, jobs/params.py); the schemas here
describe it, reusing its limits, and tests/jobs/api/test_openapi.py holds every documented method equal to what
each route allows.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings

from catalog.profiles import DEFAULT_PROFILE, PROFILES
from jobs.api_requests import FILENAME_MAX_CHARS, IMPORT_FORMATS, NAME_MAX_CHARS
from jobs.models import JOB_ERROR_MAX_BYTES
from jobs.params import SEED_PARTS_MAX
from jobs.selectors import JOB_EXTRA_FIELDS, JOB_SORT_DEFAULT, JOB_SORTS, PAGE_SIZE
from search_contract.filters import MAX_BODY_BYTES, MAX_PAGE
from search_contract.filters import PAGE_SIZE as SEARCH_PAGE_SIZE
from search_contract.openapi import ERROR_SCHEMA, PART_SCHEMA, SEARCH_PAGE_SCHEMA, SEARCH_REQUEST_SCHEMA

JSON = "application/json"


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {JSON: {"schema": schema}}


def _error_response(description: str, *, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": _json(_ref("schemas", "Error"))}
    if headers:
        response["headers"] = headers
    return response


def _list_of(item: dict[str, Any]) -> dict[str, Any]:
    """The lists' envelope: {"response": [item, ...]}."""
    return {"type": "object", "properties": {"response": {"type": "array", "items": item}}}


_TIME = {"type": ["string", "null"], "format": "date-time"}
# A job's name, params, result and error may hold file names, rejected lines and feed errors (jobs/selectors.py).
_PRIVATE = "Only with an API token: absent from an anonymous answer."
_STATUS = {"type": "string", "enum": ["queued", "running", "done", "failed"]}
_KIND = {"type": "string", "enum": ["seed", "import", "supplier_sync"]}
_JOB_URL = {
    "type": "string",
    "description": "the job's path, /api/jobs/{id}/ (unversioned, which is v1, in every version's answers)",
    "example": "/api/jobs/42/",
}

SCHEMAS: dict[str, Any] = {
    # The search's own shapes, from the one place that defines them (search_contract/openapi.py).
    "Error": ERROR_SCHEMA,
    "SearchRequest": SEARCH_REQUEST_SCHEMA,
    "Part": PART_SCHEMA,
    "SearchPage": SEARCH_PAGE_SCHEMA,
    # /mark/ lists marks as a part shows them; /model/ lists models with their mark's id and name.
    "MarkList": _list_of(PART_SCHEMA["properties"]["mark"]),
    "ModelList": _list_of(
        {
            "type": "object",
            "properties": {
                **PART_SCHEMA["properties"]["model"]["properties"],
                "mark": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
            },
        }
    ),
    "SeedParams": {
        "type": "object",
        "additionalProperties": False,
        "required": ["parts"],
        "properties": {
            "parts": {"type": "integer", "minimum": 1, "maximum": SEED_PARTS_MAX},
            "seed": {
                "type": "integer",
                "minimum": 0,
                "maximum": 2**31 - 1,
                "description": "random seed; drawn and recorded when not given",
            },
            "profile": {
                "type": "string",
                "enum": list(PROFILES),
                "default": DEFAULT_PROFILE,
                "description": "data profile: task (5 marks with one model each, 15 part names, uniform) or "
                "realistic (thousands of models and part names, Zipf-skewed); recorded",
            },
        },
    },
    "SupplierSyncParams": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "feed_ids": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "integer", "minimum": 1},
                "description": "the feeds to pull; every enabled feed when not given",
            }
        },
    },
    "JobCreateRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["kind"],
        "properties": {
            "kind": {"type": "string", "enum": ["seed", "supplier_sync"]},
            "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": NAME_MAX_CHARS,
                "description": "defaults to a description of the job",
            },
            "params": {
                "oneOf": [_ref("schemas", "SeedParams"), _ref("schemas", "SupplierSyncParams")],
                "description": "SeedParams for kind seed, SupplierSyncParams for kind supplier_sync",
            },
        },
        "example": {"kind": "seed", "params": {"parts": 10000, "seed": 1}},
    },
    "JobAccepted": {
        "type": "object",
        "required": ["id", "url", "status"],
        "properties": {"id": {"type": "integer"}, "url": _JOB_URL, "status": _STATUS},
        "example": {"id": 42, "url": "/api/jobs/42/", "status": "queued"},
    },
    "JobSummary": {
        "type": "object",
        "required": ["id", "url", "kind", "status", "created"],
        "properties": {
            "id": {"type": "integer"},
            "url": _JOB_URL,
            "name": {"type": "string", "description": _PRIVATE},
            "kind": _KIND,
            "status": _STATUS,
            "created": {"type": "string", "format": "date-time"},
        },
    },
    "JobPage": {
        "type": "object",
        "required": ["response", "count", "page", "next", "previous"],
        "properties": {
            "response": {"type": "array", "maxItems": PAGE_SIZE, "items": _ref("schemas", "JobSummary")},
            "count": {"type": "integer", "description": "every job, whatever the page"},
            "page": {"type": "integer", "minimum": 1},
            "next": {"type": ["string", "null"], "description": "the next page's URL; null on the last page"},
            "previous": {"type": ["string", "null"], "description": "the previous page's URL; null on page 1"},
        },
    },
    "Job": {
        "type": "object",
        "required": [
            "id",
            "url",
            "kind",
            "status",
            "progress",
            "created",
            "started",
            "finished",
            "attempts",
        ],
        "properties": {
            "id": {"type": "integer"},
            "url": _JOB_URL,
            "kind": _KIND,
            "status": _STATUS,
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "created": {"type": "string", "format": "date-time"},
            "started": {**_TIME, "description": "the latest start; null while queued the first time"},
            "finished": _TIME,
            "attempts": {"type": "integer", "minimum": 0, "description": "runs started, re-runs included"},
            "result": {"type": ["object", "null"], "description": f"what the job did; null until done. {_PRIVATE}"},
            "error": {
                "type": ["object", "null"],
                "description": f"why it failed ({{message, ...}}, at most {JOB_ERROR_MAX_BYTES} bytes of JSON); "
                f"null unless failed. {_PRIVATE}",
            },
            "name": {"type": "string", "description": f"with ?fields=name. {_PRIVATE}"},
            "params": {"type": "object", "description": f"with ?fields=params. {_PRIVATE}"},
            "duration": {
                "type": ["number", "null"],
                "description": "with ?fields=duration: seconds from start to finish (to now while running); "
                "null before the start",
            },
        },
    },
}

_ALLOW = {"Allow": {"description": "the methods this route takes", "schema": {"type": "string"}}}

RESPONSES: dict[str, Any] = {
    "BadRequest": _error_response("Bad input; `fields` names each problem (code `validation_error`)."),
    "Unauthorized": _error_response(
        "No API token where one is needed, or one that is malformed or unknown (code `unauthorized`).",
        headers={"WWW-Authenticate": {"schema": {"type": "string"}, "example": 'Bearer realm="jobs"'}},
    ),
    "Forbidden": _error_response("The API token was revoked (code `forbidden`)."),
    "NotFound": _error_response("No such resource (code `not_found`)."),
    "MethodNotAllowed": _error_response("Another method than this route takes.", headers=_ALLOW),
    "Conflict": _error_response("A supplier sync is already queued or running; `message` names its URL."),
    "LengthRequired": _error_response(
        "A chunked upload without Content-Length sent to Django directly (Nginx adds the length; code "
        "`length_required`)."
    ),
    "TooLarge": _error_response("The body is over the route's limit (code `body_too_large`)."),
    "Unavailable": _error_response(
        "The database is unavailable or the service at capacity; retry after Retry-After seconds.",
        headers={"Retry-After": {"schema": {"type": "integer"}}},
    ),
}


def _errors(*statuses: int) -> dict[str, Any]:
    names = {
        400: "BadRequest",
        401: "Unauthorized",
        403: "Forbidden",
        404: "NotFound",
        405: "MethodNotAllowed",
        409: "Conflict",
        411: "LengthRequired",
        413: "TooLarge",
        503: "Unavailable",
    }
    return {str(status): _ref("responses", names[status]) for status in (*statuses, 405, 503)}


_ACCEPTED = {
    "description": "Queued; poll the job's URL (also in Location).",
    "headers": {"Location": {"schema": {"type": "string"}, "description": "the job's URL"}},
    "content": _json(_ref("schemas", "JobAccepted")),
}
_WRITE: list[dict[str, list[str]]] = [{"bearerAuth": []}]
# Reads: anonymous ({}) or with the token, which shows a job's private fields too.
_READ: list[dict[str, list[str]]] = [{}, {"bearerAuth": []}]


def _paths(*, import_max_bytes: int, prefix: str) -> dict[str, Any]:
    """Every route, its path under ``prefix`` ("" or "/v1")."""
    paths: dict[str, Any] = {
        "/search/part/": {
            "post": {
                "tags": ["catalog"],
                "summary": "Search visible parts",
                "description": f"Every field optional; {SEARCH_PAGE_SIZE} parts a page in id order. "
                f"The same contract as FastAPI's /fastapi{prefix}/search/part/.",
                "operationId": "part_search",
                "requestBody": {
                    "required": True,
                    "description": f"at most {MAX_BODY_BYTES} bytes",
                    "content": _json(_ref("schemas", "SearchRequest")),
                },
                "responses": {
                    "200": {"description": "A page of matches", "content": _json(_ref("schemas", "SearchPage"))},
                    **_errors(400),
                },
            }
        },
        "/mark/": {
            "get": {
                "tags": ["catalog"],
                "summary": "Visible marks",
                "operationId": "mark_list",
                "responses": {
                    "200": {"description": "Marks", "content": _json(_ref("schemas", "MarkList"))},
                    **_errors(),
                },
            }
        },
        "/model/": {
            "get": {
                "tags": ["catalog"],
                "summary": "Visible models",
                "operationId": "model_list",
                "responses": {
                    "200": {"description": "Models", "content": _json(_ref("schemas", "ModelList"))},
                    **_errors(),
                },
            }
        },
        "/api/jobs/": {
            "get": {
                "tags": ["jobs"],
                "summary": "List jobs",
                "description": f"{PAGE_SIZE} jobs a page. A page past the end is empty, with the true count.",
                "operationId": "job_list",
                "security": _READ,
                "parameters": [
                    {
                        "name": "page",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
                    },
                    {
                        "name": "sort",
                        "in": "query",
                        "description": "created or -created (by creation time), status (then newest first); ties by id",
                        "schema": {"type": "string", "enum": list(JOB_SORTS), "default": JOB_SORT_DEFAULT},
                    },
                ],
                "responses": {
                    "200": {"description": "A page of jobs", "content": _json(_ref("schemas", "JobPage"))},
                    **_errors(400, 401, 403),
                },
            },
            "post": {
                "tags": ["jobs"],
                "summary": "Create a seed or supplier_sync job",
                "operationId": "job_create",
                "security": _WRITE,
                "requestBody": {"required": True, "content": _json(_ref("schemas", "JobCreateRequest"))},
                "responses": {"202": _ACCEPTED, **_errors(400, 401, 403, 409, 413)},
            },
        },
        "/api/jobs/import/": {
            "post": {
                "tags": ["jobs"],
                "summary": "Upload a parts file and create an import job",
                "description": "A multipart form with the file in field `file`, or the file as the raw body. "
                "The format comes from ?format, else the Content-Type (text/csv, application/json; a multipart "
                f"file part's own), else the file name's extension. The body may be at most {import_max_bytes} "
                "bytes (JOBS_IMPORT_MAX_BYTES); the job's params are {format, filename, size}.",
                "operationId": "job_import",
                "security": _WRITE,
                "parameters": [
                    {"name": "format", "in": "query", "schema": {"type": "string", "enum": list(IMPORT_FORMATS)}},
                    {
                        "name": "filename",
                        "in": "query",
                        "description": "a raw body's file name (default upload.FORMAT)",
                        "schema": {"type": "string", "maxLength": FILENAME_MAX_CHARS},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {"file": {"type": "string", "contentMediaType": "text/csv"}},
                            }
                        },
                        "text/csv": {"schema": {"type": "string"}},
                        JSON: {"schema": {}},
                        "application/octet-stream": {"schema": {"type": "string", "contentMediaType": "text/csv"}},
                    },
                },
                "responses": {"202": _ACCEPTED, **_errors(400, 401, 403, 411, 413)},
            }
        },
        "/api/jobs/{id}/": {
            "get": {
                "tags": ["jobs"],
                "summary": "One job",
                "operationId": "job_detail",
                "description": "Anyone sees the job's state; its name, params, result and error need the API "
                "token (asking for ?fields=name or params without it: 401).",
                "security": _READ,
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}},
                    {
                        "name": "fields",
                        "in": "query",
                        "description": f"extra fields, comma-separated: {', '.join(JOB_EXTRA_FIELDS)}",
                        "schema": {"type": "string"},
                        "example": "name,duration",
                    },
                ],
                "responses": {
                    "200": {"description": "The job", "content": _json(_ref("schemas", "Job"))},
                    **_errors(400, 401, 403, 404),
                },
            }
        },
    }
    return {prefix + path: item for path, item in paths.items()}


@cache
def openapi_document(*, prefix: str = "") -> dict[str, Any]:
    """The document of the paths under ``prefix`` (built once per process and prefix: it depends on settings only)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Parts catalog (Django)",
            "version": "1",
            "description": "The parts search, the mark and model lists, and background jobs. Reads are open, "
            "but a job's name, params, result and error show only with an API token; every POST under "
            f"{prefix}/api/jobs/ needs one (Authorization: Bearer TOKEN; manage.py create_api_token NAME makes one). "
            "Errors share one body: {error: {code, message, fields}}. Version 1: the unversioned paths and the "
            "same under /v1/ answer byte for byte alike; /api/openapi.json describes the first, /v1/api/openapi.json "
            "the second. Every answer names its release in X-Release.",
        },
        "tags": [
            {"name": "catalog", "description": "The catalog search and lists"},
            {"name": "jobs", "description": "Background jobs: seed, import, supplier sync"},
        ],
        "paths": _paths(import_max_bytes=settings.JOBS_IMPORT_MAX_BYTES, prefix=prefix),
        "components": {
            "schemas": SCHEMAS,
            "responses": RESPONSES,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token from manage.py create_api_token or the admin",
                }
            },
        },
    }
