"""Parse the jobs API's requests into typed values; anything wrong is the API's 400 (or 411, 413).

Like the search contract: unknown fields and query parameters are refused, types are exact (``"parts": "5"``
is not a number), and every problem is named in the error's ``fields``.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, QueryDict
from django.http.multipartparser import MultiPartParserError

from jobs import params as job_params
from jobs.errors import body_too_large, length_required, params_invalid, request_invalid
from jobs.models import JOB_NAME_MAX_CHARS
from jobs.selectors import JOB_EXTRA_FIELDS, JOB_SORT_DEFAULT, JOB_SORTS
from jobs.uploads import CHUNK_BYTES
from search_contract import MAX_BODY_BYTES
from search_contract.filters import MAX_PAGE

NAME_MAX_CHARS = JOB_NAME_MAX_CHARS
FILENAME_MAX_CHARS = 200
IMPORT_FORMATS = ("csv", "json")
# The Content-Type of a raw upload, or of a multipart form's file part, that names its format.
FORMAT_BY_CONTENT_TYPE = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/json": "json",
    "text/json": "json",
}
_DIGITS = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True, slots=True, kw_only=True)
class JobCreateRequest:
    kind: str
    name: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class JobListQuery:
    page: int
    sort: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportUpload:
    """An upload that is not read yet: ``pieces`` reads its ``size`` bytes, a piece at a time."""

    format: str
    filename: str
    size: int
    pieces: Iterator[bytes]


def _query_values(query: QueryDict, *, allowed: tuple[str, ...]) -> dict[str, str]:
    """Each allowed query parameter given, once; unknown or repeated ones are refused."""
    problems = {name: "unknown query parameter" for name in query if name not in allowed}
    problems |= {name: "given more than once" for name in allowed if len(query.getlist(name)) > 1}
    if problems:
        raise request_invalid(problems)
    return {name: query.getlist(name)[0] for name in allowed if name in query}


def job_list_query_parse(query: QueryDict) -> JobListQuery:
    given = _query_values(query, allowed=("page", "sort"))
    problems: dict[str, str] = {}
    page = 1
    if "page" in given:
        if not _DIGITS.fullmatch(given["page"]) or not 1 <= int(given["page"]) <= MAX_PAGE:
            problems["page"] = f"must be a whole number from 1 to {MAX_PAGE}"
        else:
            page = int(given["page"])
    sort = given.get("sort", JOB_SORT_DEFAULT)
    if sort not in JOB_SORTS:
        problems["sort"] = f"must be one of {', '.join(JOB_SORTS)}"
    if problems:
        raise request_invalid(problems)
    return JobListQuery(page=page, sort=sort)


def job_fields_parse(query: QueryDict) -> frozenset[str]:
    """The extra fields of ``?fields=name,duration`` (none without the parameter)."""
    given = _query_values(query, allowed=("fields",))
    names = frozenset(name.strip() for name in given.get("fields", "").split(",") if name.strip())
    unknown = sorted(names - set(JOB_EXTRA_FIELDS))
    if unknown:
        known = ", ".join(JOB_EXTRA_FIELDS)
        raise request_invalid({"fields": f"unknown field {', '.join(unknown)[:100]}; known: {known}"})
    return names


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise request_invalid({"body": "must be a JSON object"}) from None
    if not isinstance(data, dict):
        raise request_invalid({"body": "must be a JSON object"})
    return data


def job_create_request_parse(request: HttpRequest) -> JobCreateRequest:
    """The body of POST /api/jobs/: ``{"kind": ..., "name": optional, "params": {...}}``, params validated."""
    try:
        body = request.body
    except RequestDataTooBig:
        raise body_too_large(limit=MAX_BODY_BYTES, field="body") from None
    data = _json_object(body)
    unknown = {str(key): "unknown field" for key in data if key not in ("kind", "name", "params")}
    if unknown:
        raise request_invalid(unknown)
    if "kind" not in data:
        raise request_invalid({"kind": "required"})
    if not isinstance(data["kind"], str):
        raise request_invalid({"kind": f"must be one of {', '.join(sorted(job_params.VALIDATORS))}"})
    try:
        params = job_params.job_params_validate(kind=data["kind"], raw=data.get("params"))
    except job_params.ParamsError as error:
        raise params_invalid(error) from None
    kind: str = data["kind"]
    name = data.get("name")
    if name is None:
        name = job_params.describe(kind=kind, params=params)
    elif not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX_CHARS or "\x00" in name:
        raise request_invalid({"name": f"must be a text of 1 to {NAME_MAX_CHARS} characters"})
    return JobCreateRequest(kind=kind, name=name.strip(), params=params)


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _filename_clean(raw: str) -> str:
    """A file name to show: the last path component, printable characters only, at most FILENAME_MAX_CHARS."""
    name = posixpath.basename(raw.replace("\\", "/"))
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C")
    return name.strip()[:FILENAME_MAX_CHARS]


def _format_of(*, asked: str | None, content_type: str, filename: str) -> str:
    """?format= first, then the content type, then the file name's extension."""
    if asked is not None:
        if asked not in IMPORT_FORMATS:
            raise request_invalid({"format": f"must be one of {', '.join(IMPORT_FORMATS)}"})
        return asked
    if content_type in FORMAT_BY_CONTENT_TYPE:
        return FORMAT_BY_CONTENT_TYPE[content_type]
    extension = posixpath.splitext(filename)[1].lower().lstrip(".")
    if extension in IMPORT_FORMATS:
        return extension
    raise request_invalid(
        {"format": "unknown: send Content-Type text/csv or application/json, a .csv or .json file, or ?format=csv|json"}
    )


def _declared_length(request: HttpRequest, *, max_bytes: int) -> int:
    """The body's Content-Length, refused (before a byte is read) above ``max_bytes``."""
    if "HTTP_TRANSFER_ENCODING" in request.META:
        raise length_required()
    raw = request.META.get("CONTENT_LENGTH") or "0"
    declared = int(raw) if raw.isdigit() else 0
    if declared > max_bytes:
        raise body_too_large(limit=max_bytes)
    return declared


def _body_pieces(request: HttpRequest) -> Iterator[bytes]:
    """The raw body, CHUNK_BYTES at a time: request.read() is bounded by Content-Length (Django's LimitedStream)
    and, unlike request.body, not by DATA_UPLOAD_MAX_MEMORY_SIZE; the whole file is never in memory."""
    while piece := request.read(CHUNK_BYTES):
        yield piece


def _uploaded_file(request: HttpRequest) -> UploadedFile[bytes]:
    try:
        files, fields = request.FILES, request.POST
    except MultiPartParserError:
        raise request_invalid({"body": "must be a well-formed multipart/form-data body"}) from None
    except RequestDataTooBig:
        raise body_too_large(limit=MAX_BODY_BYTES, field="body") from None
    unknown = {str(name): "unknown field" for name in [*fields, *files] if name != "file"}
    if unknown:
        raise request_invalid(unknown)
    uploaded = files.getlist("file")
    if len(uploaded) != 1:
        raise request_invalid({"file": "required, once" if uploaded else "required"})
    return uploaded[0]


def import_upload_parse(request: HttpRequest, *, max_bytes: int) -> ImportUpload:
    """The file of POST /api/jobs/import/: a multipart form's ``file`` field, or the raw body.

    Over ``max_bytes`` of body: 413, from the Content-Length alone. An empty file: 400. A multipart file
    reaches the view in a temporary file past FILE_UPLOAD_MAX_MEMORY_SIZE and is read back in chunks."""
    given = _query_values(request.GET, allowed=("format", "filename"))
    declared = _declared_length(request, max_bytes=max_bytes)
    media_type = _media_type(request.content_type)
    if media_type == "multipart/form-data":
        if "filename" in given:
            raise request_invalid({"filename": "comes from the multipart file part"})
        uploaded = _uploaded_file(request)
        filename = _filename_clean(uploaded.name or "")
        file_format = _format_of(
            asked=given.get("format"), content_type=_media_type(uploaded.content_type), filename=filename
        )
        size = uploaded.size or 0
        pieces = uploaded.chunks(CHUNK_BYTES)
    else:
        filename = _filename_clean(given.get("filename", ""))
        file_format = _format_of(asked=given.get("format"), content_type=media_type, filename=filename)
        size = declared
        pieces = _body_pieces(request)
    if size == 0:
        raise request_invalid({"file": "must not be empty"})
    return ImportUpload(format=file_format, filename=filename or f"upload.{file_format}", size=size, pieces=pieces)
