"""POST /api/jobs/import/: the uploaded file lands in job_upload_chunk byte for byte, in the job's transaction."""

from __future__ import annotations

import hashlib
import json
import random
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.jobs.api.conftest import IMPORT_LIMIT, assert_error, sql
from tests.servers import Postgres

CHUNK = 1024 * 1024  # jobs.uploads.CHUNK_BYTES


def _file(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def _stored(postgres: Postgres, job_id: int) -> tuple[str, list[int]]:
    """The SHA-256 of the job's chunks put together in order, and each chunk's size."""
    chunks = sql(
        postgres,
        "SELECT coalesce(encode(sha256(string_agg(data, ''::bytea ORDER BY seq)), 'hex'), '') || ' ' || "  # noqa: S608
        "coalesce(string_agg(length(data)::text, ',' ORDER BY seq), '') "
        f"FROM job_upload_chunk WHERE job_id = {job_id:d}",
    )
    digest, _, sizes = chunks.partition(" ")
    return digest, [int(size) for size in sizes.split(",") if size]


def _job(postgres: Postgres, job_id: int) -> dict[str, Any]:
    columns = "kind, name, params, status"
    text = sql(postgres, f"SELECT row_to_json(j) FROM (SELECT {columns} FROM job WHERE id = {job_id:d}) j")  # noqa: S608
    return dict(json.loads(text))


def _counts(postgres: Postgres) -> str:
    return sql(postgres, "SELECT (SELECT count(*) FROM job) || '/' || (SELECT count(*) FROM job_upload_chunk)")


def test_a_multipart_upload_is_stored_in_order_in_1_mib_chunks(
    api: httpx.Client, auth: dict[str, str], api_sql: Postgres
) -> None:
    # Over FILE_UPLOAD_MAX_MEMORY_SIZE (1 MiB): Django spools it to a temporary file, the view reads it back.
    content = _file(2 * CHUNK + 12_345)
    response = api.post("/api/jobs/import/", files={"file": ("parts.csv", content, "text/csv")}, headers=auth)

    assert response.status_code == 202, response.text
    body = response.json()
    assert body == {"id": body["id"], "url": f"/api/jobs/{body['id']}/", "status": "queued"}
    assert response.headers["location"] == body["url"]
    assert _stored(api_sql, body["id"]) == (hashlib.sha256(content).hexdigest(), [CHUNK, CHUNK, 12_345])
    assert _job(api_sql, body["id"]) == {
        "kind": "import",
        "name": "import parts.csv",
        "params": {"format": "csv", "filename": "parts.csv", "size": len(content)},
        "status": "queued",
    }


@pytest.mark.parametrize(
    ("content_type", "query", "expected"),
    [
        ("text/csv; charset=utf-8", "", {"format": "csv", "filename": "upload.csv"}),
        ("application/json", "?filename=feed.json", {"format": "json", "filename": "feed.json"}),
        ("application/octet-stream", "?format=json", {"format": "json", "filename": "upload.json"}),
        ("application/octet-stream", "?filename=../../etc/parts.CSV", {"format": "csv", "filename": "parts.CSV"}),
    ],
)
def test_a_raw_body_is_stored_whole_and_its_format_found(
    api: httpx.Client,
    auth: dict[str, str],
    api_sql: Postgres,
    *,
    content_type: str,
    query: str,
    expected: dict[str, str],
) -> None:
    content = _file(CHUNK + 1, seed=len(query))
    response = api.post(f"/api/jobs/import/{query}", content=content, headers={**auth, "Content-Type": content_type})

    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    assert _stored(api_sql, job_id) == (hashlib.sha256(content).hexdigest(), [CHUNK, 1])
    assert _job(api_sql, job_id)["params"] == {**expected, "size": len(content)}


def test_a_multipart_file_part_gives_its_format_by_name_or_type(
    api: httpx.Client, auth: dict[str, str], api_sql: Postgres
) -> None:
    by_name = api.post("/api/jobs/import/", files={"file": ("a.json", b"[]", "application/octet-stream")}, headers=auth)
    by_type = api.post("/api/jobs/import/", files={"file": ("feed", b"x\n", "text/csv")}, headers=auth)
    asked = api.post("/api/jobs/import/?format=json", files={"file": ("feed.csv", b"{}", "text/csv")}, headers=auth)

    assert [_job(api_sql, r.json()["id"])["params"]["format"] for r in (by_name, by_type, asked)] == [
        "json",
        "csv",
        "json",
    ]


def test_an_upload_of_exactly_the_limit_is_taken(api: httpx.Client, auth: dict[str, str], api_sql: Postgres) -> None:
    content = _file(IMPORT_LIMIT, seed=5)
    response = api.post("/api/jobs/import/", content=content, headers={**auth, "Content-Type": "text/csv"})

    assert response.status_code == 202, response.text
    assert _stored(api_sql, response.json()["id"]) == (hashlib.sha256(content).hexdigest(), [CHUNK] * 3)


@pytest.mark.parametrize("multipart", [False, True])
def test_an_upload_over_the_limit_gets_413_and_leaves_nothing(
    api: httpx.Client, auth: dict[str, str], api_sql: Postgres, multipart: bool
) -> None:
    before = _counts(api_sql)
    content = _file(IMPORT_LIMIT + 1, seed=6)
    if multipart:
        response = api.post("/api/jobs/import/", files={"file": ("big.csv", content, "text/csv")}, headers=auth)
    else:
        response = api.post("/api/jobs/import/", content=content, headers={**auth, "Content-Type": "text/csv"})

    fields = assert_error(response, 413, "body_too_large")
    assert fields == {"file": f"must be at most {IMPORT_LIMIT} bytes"}
    assert _counts(api_sql) == before
    # The connection is still good for the next request (gunicorn read past the refused body).
    assert api.get("/api/jobs/").status_code == 200


def test_a_body_shorter_than_its_content_length_stores_nothing(
    api_server_url: str, writer_token: str, api_sql: Postgres
) -> None:
    """A client that goes away mid-upload: the job and the chunks written so far are rolled back."""
    before = _counts(api_sql)
    address = urlsplit(api_server_url)
    head = (
        f"POST /api/jobs/import/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {writer_token}\r\n"
        f"Content-Type: text/csv\r\nContent-Length: {2 * CHUNK}\r\n\r\n"
    ).encode()
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(head + b"x" * (CHUNK + 10))
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert _counts(api_sql) == before
    # The client only stopped sending, so it still hears why: the file ended early.
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["fields"] == {
        "file": f"the upload ended after {CHUNK + 10} of {2 * CHUNK} bytes"
    }


def test_a_chunked_upload_without_a_length_gets_411(api: httpx.Client, auth: dict[str, str]) -> None:
    """Behind Nginx a chunked upload arrives with a Content-Length; sent to gunicorn directly it has none."""
    response = api.post(
        "/api/jobs/import/", content=iter([b"a,b\n", b"c,d\n"]), headers={**auth, "Content-Type": "text/csv"}
    )
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_error(response, 411, "length_required")


@pytest.mark.parametrize(
    ("request_options", "field"),
    [
        ({"content": b"", "headers": {"Content-Type": "text/csv"}}, "file"),
        ({"files": {"file": ("empty.csv", b"", "text/csv")}}, "file"),
        ({"files": {"other": ("parts.csv", b"a", "text/csv")}}, "other"),
        ({"files": {"document": ("parts.csv", b"a", "text/csv")}, "data": {"x": "1"}}, "x"),
        ({"data": {"file": "not a file"}, "files": {"spare": ("a.csv", b"a", "text/csv")}}, "spare"),
        ({"content": b"a,b", "headers": {"Content-Type": "text/plain"}}, "format"),
        ({"content": b"a,b", "headers": {"Content-Type": "text/csv"}, "params": {"format": "xml"}}, "format"),
        ({"content": b"a,b", "headers": {"Content-Type": "text/csv"}, "params": {"page": "1"}}, "page"),
        ({"files": {"file": ("parts.txt", b"a", "text/plain")}}, "format"),
        ({"content": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=x"}}, "file"),
        ({"content": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data"}}, "body"),
    ],
)
def test_bad_uploads_get_400_naming_the_field(
    api: httpx.Client, auth: dict[str, str], api_sql: Postgres, request_options: dict[str, Any], field: str
) -> None:
    before = _counts(api_sql)
    options = {**request_options, "headers": {**auth, **request_options.get("headers", {})}}

    response = api.post("/api/jobs/import/", **options)

    fields = assert_error(response, 400, "validation_error")
    assert field in fields, fields
    assert _counts(api_sql) == before
