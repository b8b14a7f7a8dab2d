"""The parts-file upload at the edge (issue 16, part 2, "Uploads"): /api/jobs/import/ refuses a request without a
valid token before it takes a byte of the body, and the uploads Nginx buffers at once are bounded, so the disk
its temporary bodies take is too.

Behind the edge runs the real Django (production settings, gunicorn) with a Redis broker and a catalog database
of this module's own: tokens live there as digests (app/jobs/auth.py), so only Django can tell a live token
from an unknown or revoked one. The edge asks it before reading the body.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.nginx.edge_clients import ORDINARY, connect_from, read_reply, request_head
from tests.nginx.edge_server import Edge, running_edge
from tests.servers import Postgres, Server, manage, start_app, start_redis

DATABASE = "edge_uploads"
CSV = {"Content-Type": "text/csv"}
# Declared by the uploads that are refused before their body: far more than a refusal may cost, below 100 MiB.
DECLARED = 50 * 1024 * 1024
# How long a refused upload may take to get its answer: no body is sent, so an edge that waits for one (the
# body timeout is 20 s on this route) fails this.
ANSWER_WITHIN_S = 3.0
GOOD_FILE = b"name,mark,model,price\nBumper,Honda,Accord,100\n"


@pytest.fixture(scope="module")
def uploads_database(postgres: Postgres) -> Iterator[str]:
    url = postgres.catalog_create(DATABASE, parts=10, seed=1)
    yield url
    postgres.database_drop(DATABASE)


@pytest.fixture(scope="module")
def django(uploads_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    redis = start_redis(tmp_path_factory.mktemp("edge-uploads-redis"))
    try:
        server = start_app(
            "django", uploads_database, tmp_path_factory.mktemp("edge-uploads-logs"), extra_env=redis.env()
        )
        yield server
        server.stop()
    finally:
        redis.stop()


@pytest.fixture(scope="module")
def tokens(uploads_database: str) -> dict[str, str]:
    """A live token and a revoked one, made with the real commands."""
    made = {}
    for name in ("edge-live", "edge-revoked"):
        made[name] = manage(uploads_database, "create_api_token", name).rstrip("\n").splitlines()[-1]
    manage(uploads_database, "revoke_api_token", "edge-revoked")
    return made


@pytest.fixture(scope="module")
def edge(django: Server) -> Iterator[Edge]:
    # One upload at a time here (EDGE_UPLOAD_CONCURRENCY), so that the bound is cheap to reach.
    with running_edge(environ={"EDGE_UPLOAD_CONCURRENCY": "1"}) as running:
        port = int(django.base_url.rsplit(":", 1)[1])
        running.push_peers(django_blue=[port], fastapi_blue=[port])
        yield running


def _jobs(postgres: Postgres) -> int:
    return int(postgres.psql("SELECT count(*) FROM job", dbname=DATABASE))


def _temporary_bodies(edge: Edge) -> list[int]:
    """Sizes of the request bodies Nginx holds in temporary files now. Nginx unlinks such a file as soon as it
    makes it and keeps it open, so they are found among its workers' open files, not in the folder."""
    folder = str(edge.root / "client_body")
    master = int(edge.pid_file.read_text())
    workers = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    sizes = []
    for worker in workers:
        for fd in Path(f"/proc/{worker}/fd").iterdir():
            try:
                if os.readlink(fd).startswith(folder):
                    sizes.append(fd.stat().st_size)
            except FileNotFoundError:
                continue
    return sizes


def _upload_head(authorization: str | None, *, length: int = DECLARED, host: str = "localhost") -> bytes:
    headers = {**CSV, **({"Authorization": authorization} if authorization is not None else {})}
    return request_head("POST", "/api/jobs/import/", length=length, headers=headers, host=host)


def _answer_without_a_body(
    edge: Edge, authorization: str | None, *, host: str = "localhost"
) -> tuple[int, dict[str, str], bytes]:
    """The edge's answer to an upload's head alone; its body is never sent."""
    with connect_from(edge, ORDINARY, timeout=ANSWER_WITHIN_S) as sock:
        sock.sendall(_upload_head(authorization, host=host))
        try:
            return read_reply(sock)
        except TimeoutError:
            pytest.fail(f"no answer within {ANSWER_WITHIN_S} s: the edge waits for the body of {authorization!r}")


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer not a token!", "Bearer " + "A" * 43, "revoked"],
)
def test_an_upload_without_a_valid_token_is_refused_before_its_body(
    edge: Edge, django: Server, tokens: dict[str, str], postgres: Postgres, authorization: str | None
) -> None:
    if authorization == "revoked":
        authorization = f"Bearer {tokens['edge-revoked']}"
    before = _jobs(postgres)
    status, headers, body = _answer_without_a_body(edge, authorization)
    # Byte for byte what Django answers the same head itself (its token check comes before the body).
    direct = httpx.post(
        f"{django.base_url}/api/jobs/import/",
        content=b"",
        headers={**CSV, "Host": "localhost", **({"Authorization": authorization} if authorization else {})},
    )
    assert (status, body) == (direct.status_code, direct.content)
    assert status in (401, 403)
    assert headers["content-type"] == "application/json"
    assert headers.get("www-authenticate") == direct.headers.get("www-authenticate")
    assert _jobs(postgres) == before
    assert _temporary_bodies(edge) == []


def test_an_upload_django_would_refuse_anyway_is_refused_before_its_body(
    edge: Edge, tokens: dict[str, str], postgres: Postgres
) -> None:
    # A live token, but a Host Django does not serve: its 400 comes before the body, not after 50 MiB of it.
    before = _jobs(postgres)
    status, _headers, body = _answer_without_a_body(edge, f"Bearer {tokens['edge-live']}", host="evil.example")
    assert (status, json.loads(body)["error"]["code"]) == (400, "bad_request")
    assert _jobs(postgres) == before
    assert _temporary_bodies(edge) == []


def test_an_upload_with_a_live_token_is_taken_and_makes_one_job(
    edge: Edge, tokens: dict[str, str], postgres: Postgres
) -> None:
    before = _jobs(postgres)
    reply = edge.request(
        "POST", "/api/jobs/import/", GOOD_FILE, {**CSV, "Authorization": f"Bearer {tokens['edge-live']}"}
    )
    assert reply[0] == 202, reply
    # The edge's check before the body made no job: only the upload itself did.
    assert _jobs(postgres) == before + 1


def test_a_chunked_upload_with_a_live_token_is_taken(edge: Edge, tokens: dict[str, str]) -> None:
    # No Content-Length: the edge's check still sends Django an empty body, and Nginx then sends the upload
    # it read with its length (Django refuses a chunked body itself: 411).
    connection = http.client.HTTPConnection("127.0.0.1", edge.port, timeout=30)
    try:
        headers = {**CSV, "Authorization": f"Bearer {tokens['edge-live']}"}
        connection.request("POST", "/api/jobs/import/", body=iter([GOOD_FILE]), headers=headers, encode_chunked=True)
        response = connection.getresponse()
        body = response.read()
        assert response.status == 202, body[:300]
    finally:
        connection.close()


def test_uploads_at_once_are_bounded(edge: Edge, tokens: dict[str, str]) -> None:
    live = f"Bearer {tokens['edge-live']}"
    upload = b"name,mark,model,price\n" + b"Bumper,Honda,Accord,100\n" * 200_000  # 4.8 MB: to disk
    with connect_from(edge, ORDINARY, timeout=10) as first:
        # The first upload is on its way: half its body sent, the rest later.
        first.sendall(_upload_head(live, length=len(upload)) + upload[: len(upload) // 2])
        time.sleep(0.5)
        assert len(_temporary_bodies(edge)) == 1
        # A second one, with a live token too, is refused before its body: the edge holds one at a time here.
        status, headers, body = _answer_without_a_body(edge, live)
        assert status == 503, body
        assert headers["retry-after"] and b'"uploads_busy"' in body
        first.sendall(upload[len(upload) // 2 :])
        assert read_reply(first)[0] == 202
    # The first one done, the next is taken.
    assert edge.request("POST", "/api/jobs/import/", GOOD_FILE, {**CSV, "Authorization": live})[0] == 202
    assert _temporary_bodies(edge) == []
