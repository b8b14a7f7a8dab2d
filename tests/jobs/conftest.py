"""Fixtures of the job tests: a Redis, catalogs of their own, real Celery workers, and a client that makes jobs.

Jobs write to the catalog, so they never run against the session ``database_url`` that other tests compare
against: each catalog here is a database of its own. Jobs are made the way the API makes them, without a web
process: the job row (and an upload's chunks, as jobs.uploads.upload_store cuts them) inserted with psycopg,
then a ``jobs.job_run`` message sent through Redis by a Celery client. tests/jobs/test_worker_lifecycle.py
also goes through jobs.services.job_create itself, in ``manage.py shell``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from celery import Celery
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from tests.servers import Postgres, Redis, Worker, running_redis, start_worker

CHUNK_BYTES = 1 << 20  # as jobs.uploads.CHUNK_BYTES
FINAL = ("done", "failed")

# What a catalog is, to tell that a job left it untouched: parts (every column, in id order), marks, models,
# and the catalog version that every write statement bumps.
FINGERPRINT_SQL = """
SELECT (SELECT count(*) FROM part) AS parts, (SELECT count(*) FROM mark) AS marks,
       (SELECT count(*) FROM model) AS models,
       (SELECT md5(coalesce(string_agg(concat_ws('|', id, name, mark_id, model_id, price, json_data::text,
                                                 is_visible), ',' ORDER BY id), '')) FROM part) AS digest,
       (SELECT version FROM catalog_version) AS version
"""

# The worker's timings in these tests: heartbeats every second, so a lost worker is seen in seconds.
FAST_LEASE_ENV = {
    "JOBS_HEARTBEAT_SECONDS": "1",
    "JOBS_LEASE_SECONDS": "3",
    "JOBS_REAPER_INTERVAL_SECONDS": "1",
    "JOBS_REQUEUE_AFTER_SECONDS": "3",
    "CELERY_WORKER_CONCURRENCY": "2",
}


def csv_bytes(*records: list[str]) -> bytes:
    """A CSV file of these records, each a list of raw fields (quoted as the test wants them), in UTF-8."""
    return "".join(",".join(record) + "\n" for record in records).encode()


@dataclass
class JobsClient:
    """Makes jobs in one catalog and hands them to the workers of one Redis."""

    database_url: str
    redis: Redis
    conn: psycopg.Connection[dict[str, Any]] = field(init=False)
    celery: Celery = field(init=False)

    def __post_init__(self) -> None:
        self.conn = psycopg.connect(self.database_url, autocommit=True, row_factory=dict_row)
        self.celery = Celery("tests-jobs", broker=self.redis.url(0), set_as_current=False)

    def close(self) -> None:
        self.conn.close()
        self.celery.close()

    def one(self, sql: str, params: Iterable[Any] = ()) -> dict[str, Any]:
        row = self.conn.execute(sql, tuple(params)).fetchone()
        assert row is not None
        return row

    def insert(self, kind: str, params: dict[str, Any], **columns: Any) -> int:
        """A job row as job_create writes it (``columns`` override the defaults); its id. Not sent."""
        values: dict[str, Any] = {
            "kind": kind,
            "name": f"test {kind}",
            "params": Jsonb(params),
            "status": "queued",
            "progress": 0,
            "attempts": 0,
            **columns,
        }
        values.setdefault("created_at", datetime.now(UTC))
        names = ", ".join(values)
        marks = ", ".join(["%s"] * len(values))
        sql = f"INSERT INTO job ({names}) VALUES ({marks}) RETURNING id"  # noqa: S608 (the column names are ours)
        return int(self.one(sql, values.values())["id"])

    def send(self, job_id: int) -> None:
        """What job_enqueue does: a jobs.job_run message through the broker."""
        self.celery.send_task("jobs.job_run", args=[job_id])

    def create(self, kind: str, params: dict[str, Any]) -> int:
        job_id = self.insert(kind, params)
        self.send(job_id)
        return job_id

    def upload(self, job_id: int, pieces: Iterable[bytes]) -> int:
        """Store a file for the job as jobs.uploads.upload_store does (1 MiB chunks, in order); its size."""
        size = seq = 0
        buffer = bytearray()

        def store(data: bytes) -> None:
            nonlocal seq
            self.conn.execute(
                "INSERT INTO job_upload_chunk (job_id, seq, data) VALUES (%s, %s, %s)", (job_id, seq, data)
            )
            seq += 1

        for piece in pieces:
            buffer += piece
            size += len(piece)
            while len(buffer) >= CHUNK_BYTES:
                store(bytes(buffer[:CHUNK_BYTES]))
                del buffer[:CHUNK_BYTES]
        if buffer:
            store(bytes(buffer))
        return size

    def create_import(self, data: bytes | Iterable[bytes], file_format: str) -> int:
        """An import job of the file (bytes, or pieces of it streamed), as POST /api/jobs/import/ makes one."""
        job_id = self.insert("import", {"format": file_format, "filename": f"parts.{file_format}", "size": 0})
        size = self.upload(job_id, [data] if isinstance(data, bytes) else data)
        self.conn.execute(
            "UPDATE job SET params = params || jsonb_build_object('size', %s::int) WHERE id = %s", (size, job_id)
        )
        self.send(job_id)
        return job_id

    def job(self, job_id: int) -> dict[str, Any]:
        return self.one("SELECT * FROM job WHERE id = %s", [job_id])

    def wait(self, job_id: int, *, timeout: float = 30, until: tuple[str, ...] = FINAL) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["status"] in until or time.monotonic() > deadline:
                assert job["status"] in until, f"job {job_id} still {job['status']} after {timeout}s: {job}"
                return job
            time.sleep(0.1)

    def wait_for(self, sql: str, params: Iterable[Any] = (), *, timeout: float = 30) -> dict[str, Any]:
        """The first row of ``sql`` once its first column is true."""
        deadline = time.monotonic() + timeout
        while True:
            row = self.one(sql, params)
            if next(iter(row.values())):
                return row
            assert time.monotonic() < deadline, f"not true after {timeout}s: {sql} -> {row}"
            time.sleep(0.05)

    def fingerprint(self) -> tuple[Any, ...]:
        return tuple(self.one(FINGERPRINT_SQL).values())

    def parts(self) -> int:
        return int(self.one("SELECT count(*) AS n FROM part")["n"])

    def chunks(self, job_id: int) -> int:
        return int(self.one("SELECT count(*) AS n FROM job_upload_chunk WHERE job_id = %s", [job_id])["n"])


@pytest.fixture(scope="session")
def jobs_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    with running_redis(tmp_path_factory.mktemp("jobs-redis")) as server:
        yield server


@pytest.fixture(scope="session")
def jobs_database(postgres: Postgres) -> Iterator[str]:
    """A catalog of the job tests' own (500 parts of the usual 5 marks and models)."""
    url = postgres.catalog_create("jobs_worker", parts=500, seed=3)
    yield url
    postgres.database_drop("jobs_worker")


@pytest.fixture(scope="session")
def jobs_worker(jobs_database: str, jobs_redis: Redis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """The worker that runs the jobs of the kind tests (no beat: those tests send every job themselves)."""
    log = tmp_path_factory.mktemp("jobs-worker") / "worker.log"
    # A feed of more than 1 MB fails (tests/jobs/test_supplier_sync_job.py serves a bigger one).
    env = {**FAST_LEASE_ENV, "SUPPLIER_FEED_MAX_BYTES": "1000000"}
    worker = start_worker(jobs_database, jobs_redis, log, extra_env=env)
    yield worker
    worker.terminate()


@pytest.fixture(scope="session")
def jobs(jobs_database: str, jobs_redis: Redis, jobs_worker: Worker) -> Iterator[JobsClient]:
    client = JobsClient(jobs_database, jobs_redis)
    yield client
    client.close()


@pytest.fixture
def worker_log(tmp_path: Path) -> Path:
    return tmp_path / "worker.log"
