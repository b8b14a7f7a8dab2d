"""A test release, as the canary scenarios run one: named by its colour and tag, failing a share of its searches
and answering them late (search_contract/release.py, service_common/faults.py); a bad knob stops it at start.

Both services run here with one worker process each, so the share is exact: the counter is per process.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from search_contract.errors import injected_fault
from search_contract.release import RELEASE_HEADER, SERVICE_VARIABLE, TAG_VARIABLE
from service_common.faults import DELAY_VARIABLE, ERROR_SHARE_VARIABLE
from tests.servers import BIN, GUNICORN_APPS, Server, free_port, service_env, start_app

TAG = "3f2c1ab-dirty-0a1b2c3d4e"
SHARE = 0.25
DELAY_MS = 200
# Searches sent at once; a multiple of 1/SHARE, so any run of them holds exactly SEARCHES x SHARE failures.
SEARCHES = 40
CONCURRENCY = 20


@pytest.fixture(scope="module", params=["django", "fastapi"])
def release(
    request: pytest.FixtureRequest, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The service as the green colour of release TAG, with both fault knobs on."""
    name = str(request.param)
    env = {
        SERVICE_VARIABLE: f"partscat_{name}-green",
        TAG_VARIABLE: TAG,
        ERROR_SHARE_VARIABLE: str(SHARE),
        DELAY_VARIABLE: str(DELAY_MS),
        "WEB_CONCURRENCY": "1",
    }
    server = start_app(name, database_url, tmp_path_factory.mktemp(f"test-release-{name}"), extra_env=env)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def release_client(release: Server) -> Iterator[httpx.Client]:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    with httpx.Client(base_url=release.base_url, timeout=30, limits=limits) as client:
        yield client


def test_every_answer_names_the_colour_and_tag(release_client: httpx.Client, release: Server) -> None:
    answers = [
        release_client.get("/livez"),
        release_client.get("/healthz"),
        release_client.get("/no/such/route/"),
        release_client.get("/v1/search/part/"),
        *(release_client.post("/search/part/", json={"page": 0}) for _ in range(4)),
    ]
    if release.name == "django":
        answers.append(release_client.get("/v1/mark/"))
    statuses = {answer.status_code for answer in answers}
    # Of the four searches, the share's one is the injected 500, the others the 400 of their bad page.
    assert statuses >= {200, 404, 405, 400, 500}, statuses
    for answer in answers:
        assert answer.headers[RELEASE_HEADER] == f"green-{TAG}", answer.request.url


def test_a_share_of_searches_fail_and_every_search_is_late(release_client: httpx.Client) -> None:
    def search(number: int) -> tuple[httpx.Response, float]:
        path = "/v1/search/part/" if number % 2 else "/search/part/"
        started = time.monotonic()
        response = release_client.post(path, json={"mark_name": "Honda", "page": 1 + number % 3})
        return response, time.monotonic() - started

    started = time.monotonic()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        results = list(pool.map(search, range(SEARCHES)))
    wall = time.monotonic() - started

    failed = [response for response, _ in results if response.status_code == 500]
    assert len(failed) == SEARCHES * SHARE
    assert {response.status_code for response, _ in results} == {200, 500}
    for response in failed:
        assert response.json() == injected_fault().body()
        assert response.headers["content-type"] == "application/json"
        assert response.headers[RELEASE_HEADER] == f"green-{TAG}"
    for response, _ in results:
        if response.status_code == 200:
            assert set(response.json()) == {"response", "count", "summ", "page"}
    assert min(elapsed for _, elapsed in results) >= DELAY_MS / 1000
    # The delay holds no worker: FastAPI awaits it, Django sleeps in one of its threads (6) before taking a
    # database slot (2). One after the other, these searches would take SEARCHES x DELAY_MS = 8 s.
    assert wall < SEARCHES * DELAY_MS / 1000 / 2, wall


def test_other_routes_are_neither_late_nor_failed(release_client: httpx.Client) -> None:
    for path in ("/livez", "/healthz"):
        response = release_client.get(path)
        assert response.status_code == 200
        assert response.elapsed.total_seconds() < DELAY_MS / 1000


@pytest.mark.parametrize(
    ("name", "variable", "value"),
    [
        ("django", ERROR_SHARE_VARIABLE, "1.5"),
        ("fastapi", ERROR_SHARE_VARIABLE, "5%"),
        ("fastapi", DELAY_VARIABLE, "0.5"),
        ("django", TAG_VARIABLE, "v1 beta"),
    ],
)
def test_a_bad_knob_stops_the_service_at_start_naming_it(
    database_url: str, tmp_path: Path, name: str, variable: str, value: str
) -> None:
    cwd, config, application = GUNICORN_APPS[name]
    command = [str(BIN / "gunicorn"), "-c", config, "--bind", f"127.0.0.1:{free_port()}", application]
    env = {**os.environ, **service_env(database_url), "WEB_CONCURRENCY": "1", variable: value}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert f"InvalidSetting: {variable} must be" in result.stdout + result.stderr
