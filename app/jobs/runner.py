"""Running one job: claim its row, keep its lease alive, and write its outcome, every write fenced by the run.

Why it is built this way:

- Celery delivers a message at least once (acks_late; a lost worker's message comes back; the reaper sends a
  job again, jobs/services.py). So a run is idempotent by job id and the job row decides, locked with
  SELECT ... FOR UPDATE: a done or failed job is left alone, a running job whose heartbeat is fresh belongs to
  another worker and is left alone, anything else is claimed (status running, attempts + 1, heartbeat now).
- ``attempts`` is the run's fencing token. Every later write of the run (heartbeat, checkpoint, result, error)
  says ``WHERE attempts = <token> AND status = 'running'``. A run that stalled past its lease, and that the
  reaper handed to another worker, writes nothing when it wakes up: its checkpoint matches no row, the run
  raises LeaseLost, and the transaction that also held its catalog writes rolls back. A batch of a seed or a
  whole import is committed by exactly one run.
- Job kinds write their checkpoint as the last statement of the transaction it describes (a seed batch, an
  import, a feed), so a re-run resumes after the last commit, and the job row is locked only for the instant
  before that commit.
- The heartbeat is a thread with its own database connection, every JOBS_HEARTBEAT_SECONDS: a job may spend
  minutes inside one COPY or one HTTP read, where it could not renew its lease itself. The thread also writes
  the progress, so long transactions never touch the job row (a heartbeat waiting on that row would let the
  lease run out under a live job).
- A kind raises JobError for an expected failure (a bad file): the job fails with that error. Another error
  fails the job as an internal error (running a bug again does not help), except a lost database connection
  (OperationalError): nothing can be written then, the heartbeat stops, and the reaper re-runs the job once
  the lease has run out, at most JOBS_MAX_ATTEMPTS times in all.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q, Value
from django.db.models.functions import Coalesce, Greatest, Now

from jobs.models import JOB_ERROR_MAX_BYTES, Job
from jobs.uploads import upload_delete

logger = logging.getLogger(__name__)


class JobError(Exception):
    """The one error a job kind raises: the job fails with ``{"message": message, **details}`` as its error."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.error: dict[str, Any] = {"message": message, **details}


class LeaseLost(Exception):
    """This run no longer owns its job (the reaper gave it to another run); it must stop and write nothing."""


class JobRun:
    """One claimed run of a job: the job as claimed, its fencing token, and the progress the heartbeat writes."""

    def __init__(self, *, job: Job) -> None:
        self.job = job
        self.token = job.attempts
        self.progress = job.progress
        self.lost = threading.Event()

    def owned_rows(self) -> Any:
        return Job.objects.filter(pk=self.job.pk, status=Job.Status.RUNNING, attempts=self.token)

    def ensure_lease(self) -> None:
        if self.lost.is_set():
            raise LeaseLost(f"job {self.job.pk}: attempt {self.token} lost its lease")

    def progress_set(self, *, percent: int) -> None:
        """Progress 0..100; the heartbeat writes it (never backwards)."""
        self.progress = max(self.progress, min(100, max(0, percent)))

    def checkpoint(self, *, value: dict[str, Any], percent: int | None = None) -> None:
        """Record where a re-run resumes. Call it as the last statement of the transaction whose writes it
        describes: if this run lost its lease, it raises LeaseLost and the whole transaction rolls back."""
        if percent is not None:
            self.progress_set(percent=percent)
        written = self.owned_rows().update(checkpoint=value, progress=Greatest(F("progress"), Value(self.progress)))
        if not written:
            self.lost.set()
            self.ensure_lease()
        self.job.checkpoint = value


class _Heartbeat(threading.Thread):
    """Renews the run's heartbeat (and writes its progress) until stopped; notices a lost lease."""

    def __init__(self, run: JobRun) -> None:
        super().__init__(name=f"job-{run.job.pk}-heartbeat", daemon=True)
        self.job_run = run
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.JOBS_HEARTBEAT_SECONDS):
                try:
                    renewed = self.job_run.owned_rows().update(
                        heartbeat_at=Now(), progress=Greatest(F("progress"), Value(self.job_run.progress))
                    )
                except DatabaseError:
                    # Try again at the next beat; the lease allows a few misses.
                    logger.warning("job %s: heartbeat failed", self.job_run.job.pk, exc_info=True)
                    connection.close()
                    continue
                if not renewed:
                    logger.warning("job %s: attempt %s lost its lease", self.job_run.job.pk, self.job_run.token)
                    self.job_run.lost.set()
                    return
        finally:
            connection.close()  # this thread's own connection

    def stop(self) -> None:
        self.stopped.set()
        self.join()


# When an error is over JOB_ERROR_MAX_BYTES, each of its texts is first cut to this share of the limit.
_TEXT_SHARE = 32


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))


def _texts_cut(value: Any, *, chars: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= chars else value[: chars - 1] + "…"
    if isinstance(value, list):
        return [_texts_cut(item, chars=chars) for item in value]
    if isinstance(value, dict):
        return {key: _texts_cut(item, chars=chars) for key, item in value.items()}
    return value


def job_error_bounded(error: dict[str, Any]) -> dict[str, Any]:
    """``error`` as Job.error stores it: whole when its JSON fits JOB_ERROR_MAX_BYTES. Otherwise every text is
    cut to 1/_TEXT_SHARE of the limit, then items go from the end of its longest lists (the first bad lines of a
    file are the first to fix) until it fits, and ``"truncated": true`` says so. Counts (``bad_rows``) stay."""
    if _json_bytes(error) <= JOB_ERROR_MAX_BYTES:
        return error
    bounded: dict[str, Any] = {**_texts_cut(error, chars=JOB_ERROR_MAX_BYTES // _TEXT_SHARE), "truncated": True}
    lists = [key for key, value in bounded.items() if isinstance(value, list)]
    while _json_bytes(bounded) > JOB_ERROR_MAX_BYTES and any(bounded[key] for key in lists):
        longest = max(lists, key=lambda key: len(bounded[key]))
        bounded[longest] = bounded[longest][:-1]
    if _json_bytes(bounded) > JOB_ERROR_MAX_BYTES:  # many keys, not long lists: the message alone
        return {
            "message": _texts_cut(str(error.get("message", "")), chars=JOB_ERROR_MAX_BYTES // _TEXT_SHARE),
            "truncated": True,
        }
    return bounded


def job_fail_locked(*, job: Job, error: dict[str, Any]) -> None:
    """Fail a job whose row the caller holds locked; its uploaded file goes too. Every failure is written here,
    so every stored error is bounded here (job_error_bounded)."""
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.FAILED,
        error=job_error_bounded(error),
        result=None,
        finished_at=Now(),
        heartbeat_at=Now(),
    )
    upload_delete(job_id=job.pk)


def job_claim(*, job_id: int) -> JobRun | None:
    """Claim the job for this run, or None when there is nothing to do (done, failed, running elsewhere, gone).

    A job that has already been started JOBS_MAX_ATTEMPTS times is failed instead of started again."""
    lease = timedelta(seconds=settings.JOBS_LEASE_SECONDS)
    alive = ExpressionWrapper(Q(heartbeat_at__gt=Now() - lease), output_field=BooleanField())
    with transaction.atomic():
        job = Job.objects.select_for_update().annotate(alive=alive).filter(pk=job_id).first()
        if job is None:
            logger.warning("job %s: no such job", job_id)
            return None
        if job.status in (Job.Status.DONE, Job.Status.FAILED):
            logger.info("job %s: already %s", job_id, job.status)
            return None
        if job.status == Job.Status.RUNNING and job.alive:
            logger.info("job %s: running on another worker (attempt %s)", job_id, job.attempts)
            return None
        if job.attempts >= settings.JOBS_MAX_ATTEMPTS:
            job_fail_locked(job=job, error=attempts_exhausted(attempts=job.attempts))
            logger.warning("job %s: failed after %s attempts", job_id, job.attempts)
            return None
        Job.objects.filter(pk=job_id).update(
            status=Job.Status.RUNNING,
            attempts=F("attempts") + 1,
            started_at=Coalesce(F("started_at"), Now()),
            heartbeat_at=Now(),
        )
        job.refresh_from_db()
    logger.info("job %s (%s): attempt %s started", job_id, job.kind, job.attempts)
    return JobRun(job=job)


def attempts_exhausted(*, attempts: int) -> dict[str, Any]:
    return {
        "message": f"gave up after {attempts} attempts: each run lost its worker or its database connection",
        "attempts": attempts,
    }


def job_finish(*, run: JobRun, result: dict[str, Any]) -> None:
    with transaction.atomic():
        done = run.owned_rows().update(
            status=Job.Status.DONE, result=result, error=None, progress=100, finished_at=Now(), heartbeat_at=Now()
        )
        if not done:
            raise LeaseLost(f"job {run.job.pk}: attempt {run.token} lost its lease before it finished")
        upload_delete(job_id=run.job.pk)


def job_fail(*, run: JobRun, error: dict[str, Any]) -> None:
    """Fail the run's job, if the run still owns it. When even that write fails, the reaper takes over."""
    try:
        with transaction.atomic():
            if run.owned_rows().select_for_update().exists():
                job_fail_locked(job=run.job, error=error)
    except DatabaseError:
        logger.exception("job %s: could not record the failure; the reaper will run it again", run.job.pk)


def job_execute(*, job_id: int, kinds: dict[str, Callable[[JobRun], dict[str, Any]]]) -> None:
    """Claim the job and run its kind's function (``kinds[job.kind]``, which returns the job's result)."""
    run = job_claim(job_id=job_id)
    if run is None:
        return
    heartbeat = _Heartbeat(run)
    heartbeat.start()
    try:
        result = kinds[run.job.kind](run)
        run.ensure_lease()
        job_finish(run=run, result=result)
        logger.info("job %s: done: %s", job_id, result)
    except LeaseLost:
        logger.warning("job %s: attempt %s stopped: another run owns the job now", job_id, run.token)
    except (OperationalError, psycopg.OperationalError):
        # The database is unreachable: the failure could not be written either. The heartbeat stops below, and
        # the reaper re-runs the job once its lease has run out (JOBS_MAX_ATTEMPTS bounds the re-runs). Django
        # wraps the driver's errors, but not those of a raw COPY (jobs/kinds/imports.py): both are caught.
        logger.exception("job %s: database error; the reaper will run it again", job_id)
    except JobError as exc:
        logger.info("job %s: failed: %s", job_id, exc)
        job_fail(run=run, error=exc.error)
    except SoftTimeLimitExceeded:
        limit = settings.CELERY_TASK_SOFT_TIME_LIMIT
        logger.warning("job %s: ran past the time limit", job_id)
        job_fail(run=run, error={"message": f"ran longer than the time limit of {limit} s"})
    except Exception as exc:
        logger.exception("job %s: internal error", job_id)
        job_fail(run=run, error={"message": f"internal error: {type(exc).__name__}: {exc}"})
    finally:
        heartbeat.stop()
