"""Jobs survive their workers: a worker SIGKILLed mid-job has the job re-run from its checkpoint and done once;
a warm shutdown (SIGTERM) finishes the job in hand; the reaper re-runs lost jobs a bounded number of times and
sends jobs whose message was lost; creating a job never fails when the broker is down or hangs; beat schedules
the supplier sync and skips it while one is active.

Each test runs its own workers (prefork, as stack.yml) on a catalog and a Redis of this module, with a lease of
3 s and the reaper every second (tests/jobs/conftest.py: FAST_LEASE_ENV), so a lost worker is seen in seconds.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.jobs.conftest import FAST_LEASE_ENV, JobsClient
from tests.servers import Postgres, Redis, Worker, manage, start_redis, start_worker

ENV = {
    **FAST_LEASE_ENV,
    # Small batches, so that a seed of a few tens of thousands of parts has many checkpoints to stop between.
    "JOBS_SEED_BATCH_SIZE": "500",
    "JOBS_MAX_ATTEMPTS": "3",
    "SUPPLIER_SYNC_INTERVAL_SECONDS": "0",
}
BATCHES_DONE_SQL = "SELECT coalesce((checkpoint->>'batches_done')::int, 0) >= %s AS reached FROM job WHERE id = %s"
LONG_AGO = datetime.now(UTC) - timedelta(hours=1)


@pytest.fixture(scope="module")
def lifecycle_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    server = start_redis(tmp_path_factory.mktemp("lifecycle-redis"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lifecycle_database(postgres: Postgres) -> Iterator[str]:
    url = postgres.catalog_create("jobs_lifecycle", parts=100)
    yield url
    postgres.database_drop("jobs_lifecycle")


@pytest.fixture
def lifecycle(lifecycle_database: str, lifecycle_redis: Redis) -> Iterator[JobsClient]:
    client = JobsClient(lifecycle_database, lifecycle_redis)
    yield client
    client.close()


class Workers:
    """Starts workers for one test; whatever still runs at its end is stopped."""

    def __init__(self, database_url: str, redis: Redis, tmp_path: Path) -> None:
        self.database_url = database_url
        self.redis = redis
        self.tmp_path = tmp_path
        self.started: list[Worker] = []

    def start(self, *, beat: bool = False, **env: str) -> Worker:
        number = len(self.started)
        worker = start_worker(
            self.database_url,
            self.redis,
            self.tmp_path / f"worker-{number}.log",
            beat_schedule=self.tmp_path / f"beat-{number}" if beat else None,
            extra_env={**ENV, **env},
        )
        self.started.append(worker)
        return worker

    def stop(self) -> None:
        for worker in self.started:
            worker.kill()


@pytest.fixture
def workers(lifecycle_database: str, lifecycle_redis: Redis, tmp_path: Path) -> Iterator[Workers]:
    started = Workers(lifecycle_database, lifecycle_redis, tmp_path)
    yield started
    started.stop()


def test_a_killed_worker_s_job_resumes_and_adds_exactly_n_parts(lifecycle: JobsClient, workers: Workers) -> None:
    first = workers.start(beat=True)
    before = lifecycle.parts()
    job_id = lifecycle.create("seed", {"parts": 40_000, "seed": 9})
    lifecycle.wait_for(BATCHES_DONE_SQL, [6, job_id])
    first.kill()  # main process, pool and beat at once, as when a node is lost
    lost = lifecycle.job(job_id)
    assert (lost["status"], lost["attempts"]) == ("running", 1)
    assert 6 <= lost["checkpoint"]["batches_done"] < 80
    assert lifecycle.parts() == before + lost["checkpoint"]["parts_created"]

    # Its message stays unacknowledged in Redis for the 2 h visibility timeout; the reaper does not wait for it.
    workers.start(beat=True)
    job = lifecycle.wait(job_id, timeout=60)
    assert job["status"] == "done", job["error"]
    assert job["attempts"] == 2
    assert job["result"] == {"parts_created": 40_000, "seed": 9}
    assert job["checkpoint"]["batches_done"] == 80
    # Resumed after the last committed batch: not one batch lost, not one written twice.
    assert lifecycle.parts() == before + 40_000


def test_warm_shutdown_finishes_the_job_in_hand(lifecycle: JobsClient, workers: Workers) -> None:
    worker = workers.start()
    before = lifecycle.parts()
    job_id = lifecycle.create("seed", {"parts": 30_000, "seed": 4})
    lifecycle.wait_for(BATCHES_DONE_SQL, [3, job_id])
    assert lifecycle.job(job_id)["status"] == "running"
    assert worker.terminate(timeout=120) == 0  # SIGTERM to the main process, as Swarm sends it
    job = lifecycle.job(job_id)
    assert job["status"] == "done", job
    assert job["attempts"] == 1
    assert lifecycle.parts() == before + 30_000


def test_the_reaper_reruns_lost_jobs_and_fails_those_out_of_attempts(lifecycle: JobsClient, workers: Workers) -> None:
    seed = {"parts": 50, "seed": 1}
    # As lost workers leave them: running, with a heartbeat long gone.
    lost = lifecycle.insert("seed", seed, status="running", attempts=1, started_at=LONG_AGO, heartbeat_at=LONG_AGO)
    spent = lifecycle.insert("seed", seed, status="running", attempts=3, started_at=LONG_AGO, heartbeat_at=LONG_AGO)
    # Queued, but its message was never sent (the broker was down when it was created).
    unsent = lifecycle.insert("seed", seed, created_at=LONG_AGO)
    # Queued again after its third lost run, and its message delivered once more.
    requeued_spent = lifecycle.insert("seed", seed, attempts=3)
    lifecycle.send(requeued_spent)
    before = lifecycle.parts()
    workers.start(beat=True)

    assert lifecycle.wait(lost)["status"] == "done"
    assert lifecycle.job(lost)["attempts"] == 2
    assert lifecycle.wait(unsent)["status"] == "done"
    assert lifecycle.job(unsent)["attempts"] == 1
    for job_id in (spent, requeued_spent):
        job = lifecycle.wait(job_id)
        assert job["status"] == "failed"
        assert job["attempts"] == 3
        assert job["error"] == {
            "message": "gave up after 3 attempts: each run lost its worker or its database connection",
            "attempts": 3,
        }
        assert job["finished_at"] is not None
    assert lifecycle.parts() == before + 100


CREATE_SCRIPT = """
import time
from jobs.services import job_create
started = time.monotonic()
job = job_create(kind="seed", name="made as the API makes it", params={"parts": 20, "seed": 3})
print(job.pk, time.monotonic() - started)
"""


def job_create_in_django(database_url: str, redis_env: dict[str, str]) -> tuple[int, float]:
    """jobs.services.job_create in a Django process of its own (as in a web request); (job id, seconds it took)."""
    env = {**redis_env, "JOBS_ENQUEUE_TIMEOUT_SECONDS": "1"}
    out = manage(database_url, "shell", "-c", CREATE_SCRIPT, extra_env=env)
    job_id, seconds = out.splitlines()[-1].split()
    return int(job_id), float(seconds)


def test_job_create_hands_the_job_over_and_never_fails_on_a_hanging_broker(
    lifecycle: JobsClient, lifecycle_database: str, lifecycle_redis: Redis, workers: Workers
) -> None:
    workers.start()  # no beat, so no reaper: what runs was sent by job_create itself
    job_id, _ = job_create_in_django(lifecycle_database, lifecycle_redis.env())
    assert lifecycle.wait(job_id)["status"] == "done"

    # A broker that accepts connections and never answers: the request goes on after the enqueue timeout.
    with socket.create_server(("127.0.0.1", 0), backlog=16) as hanging:
        port = hanging.getsockname()[1]
        env = {**lifecycle_redis.env(), "REDIS_PORT": str(port)}
        job_id, seconds = job_create_in_django(lifecycle_database, env)
    assert seconds < 5
    assert lifecycle.job(job_id)["status"] == "queued"
    # Left for the reaper, which sends it once JOBS_REQUEUE_AFTER_SECONDS have passed.
    workers.start(beat=True)
    job = lifecycle.wait(job_id)
    assert (job["status"], job["attempts"]) == ("done", 1)


def test_beat_schedules_the_supplier_sync_and_skips_while_one_is_active(
    lifecycle: JobsClient, workers: Workers
) -> None:
    # An active sync, as if running on a worker that has just been lost: beat's ticks meet it and skip, until
    # the reaper re-runs it (after the 3 s lease) and it is done.
    held = lifecycle.insert("supplier_sync", {}, status="running", attempts=1, heartbeat_at=datetime.now(UTC))
    worker = workers.start(beat=True, SUPPLIER_SYNC_INTERVAL_SECONDS="1")
    assert lifecycle.wait(held)["status"] == "done"
    scheduled = lifecycle.wait_for(
        "SELECT count(*) >= 2 AS many, min(created_at) AS first FROM job "
        "WHERE kind = 'supplier_sync' AND name = 'scheduled supplier sync' AND status = 'done'"
    )
    log = worker.log.read_text()
    assert "scheduled supplier sync skipped: supplier_sync job" in log
    assert scheduled["first"] is not None
