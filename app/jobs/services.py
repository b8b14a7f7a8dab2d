"""Writes to jobs: create a job and hand it to a worker, send lost jobs again (the reaper), schedule syncs.

Why a reaper: with acks_late on the Redis transport, the message of a job whose worker was SIGKILLed (or whose
node vanished) comes back only after the broker's visibility_timeout (two hours), and the message of a job
created while the broker was down was never sent at all. The job row, not the broker, is the truth: every
JOBS_REAPER_INTERVAL_SECONDS beat runs job_reap, which

- queues again each running job whose heartbeat is older than JOBS_LEASE_SECONDS (its worker is gone), or
  fails it once it has been started JOBS_MAX_ATTEMPTS times, so a job is never running for ever nor re-run in
  a loop;
- sends again each queued job that no worker took within JOBS_REQUEUE_AFTER_SECONDS.

For a queued job, heartbeat_at records when it was last handed to the broker (a worker's claim overwrites it),
so the reaper sends a waiting job again at most once per JOBS_REQUEUE_AFTER_SECONDS. A job sent twice is run
once: the run claims the row under a lock (jobs/runner.py), and a duplicate finds it running or done.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce, Now

from config.celery import app as celery_app
from jobs import params as job_params
from jobs.models import ApiToken, Job
from jobs.params import ParamsError
from jobs.runner import attempts_exhausted, job_fail_locked
from jobs.uploads import upload_store

logger = logging.getLogger(__name__)

# The name of jobs.tasks.job_run.
JOB_RUN_TASK = "jobs.job_run"


class JobConflict(Exception):
    """A job of this kind is already queued or running (the supplier sync runs one at a time)."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"{job.kind} job {job.pk} is already {job.status}")
        self.job = job


def job_enqueue(*, job_id: int) -> None:
    """Hand the job to a worker; never raises. Called from transaction.on_commit, so the worker always finds the
    row. It runs inside an HTTP request: a broker that is down or hangs costs at most about twice
    JOBS_ENQUEUE_TIMEOUT_SECONDS, then the job stays queued and the reaper sends it later."""
    timeout = settings.JOBS_ENQUEUE_TIMEOUT_SECONDS
    try:
        # A connection of its own with short timeouts (the worker's long-lived ones keep the defaults), and no
        # publish retries: the reaper is the retry. The task goes by name through the project's Celery app
        # (a web process never imports jobs.tasks, whose shared tasks would bind to an unconfigured default app).
        with celery_app.connection_for_write(
            connect_timeout=timeout,
            transport_options={"socket_timeout": timeout, "socket_connect_timeout": timeout},
        ) as broker:
            celery_app.send_task(JOB_RUN_TASK, args=[job_id], connection=broker, retry=False, ignore_result=True)
    except Exception:
        logger.warning("job %s: could not reach the broker; it stays queued for the reaper", job_id, exc_info=True)


def job_create(*, kind: str, name: str, params: dict[str, Any], token: ApiToken | None = None) -> Job:
    """A new queued job of ``kind`` with ``params`` already validated by jobs.params.job_params_validate.

    Raises JobConflict when the kind allows one active job and one is queued or running."""
    try:
        with transaction.atomic():
            job = Job.objects.create(kind=kind, name=name, params=params, created_by=token)
            transaction.on_commit(lambda: job_enqueue(job_id=job.pk))
    except IntegrityError:
        active = Job.objects.filter(kind=kind, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).first()
        if active is None:
            raise
        raise JobConflict(active) from None
    return job


def job_reap() -> dict[str, list[int]]:
    """Queue again the running jobs that lost their worker (or fail them, attempts spent), and send again the
    queued jobs that no worker took. Returns the job ids of each."""
    lease = timedelta(seconds=settings.JOBS_LEASE_SECONDS)
    waited = timedelta(seconds=settings.JOBS_REQUEUE_AFTER_SECONDS)
    outcome: dict[str, list[int]] = {"requeued": [], "failed": [], "resent": []}
    with transaction.atomic():
        # SKIP LOCKED: a row locked now is being claimed or checkpointed, so it is alive.
        lost = Job.objects.select_for_update(skip_locked=True).filter(
            Q(heartbeat_at__lt=Now() - lease) | Q(heartbeat_at__isnull=True), status=Job.Status.RUNNING
        )
        for job in lost.only("id", "attempts"):
            if job.attempts >= settings.JOBS_MAX_ATTEMPTS:
                job_fail_locked(job=job, error=attempts_exhausted(attempts=job.attempts))
                outcome["failed"].append(job.pk)
            else:
                outcome["requeued"].append(job.pk)
        Job.objects.filter(pk__in=outcome["requeued"]).update(status=Job.Status.QUEUED, heartbeat_at=Now())
        waiting = (
            Job.objects.select_for_update(skip_locked=True)
            .alias(last_sent=Coalesce("heartbeat_at", "created_at"))
            .filter(status=Job.Status.QUEUED, last_sent__lt=Now() - waited)
        )
        outcome["resent"] = list(waiting.values_list("id", flat=True))
        Job.objects.filter(pk__in=outcome["resent"]).update(heartbeat_at=Now())
        for job_id in outcome["requeued"] + outcome["resent"]:
            transaction.on_commit(lambda job_id=job_id: job_enqueue(job_id=job_id))  # type: ignore[misc]
    if any(outcome.values()):
        logger.warning("job reaper: %s", outcome)
    return outcome


def supplier_sync_schedule() -> Job | None:
    """Beat's periodic sync: a new supplier_sync job of every enabled feed, or None when one is already queued
    or running (that one will do)."""
    params = job_params.job_params_validate(kind=Job.Kind.SUPPLIER_SYNC.value, raw={})
    try:
        return job_create(kind=Job.Kind.SUPPLIER_SYNC, name="scheduled supplier sync", params=params)
    except JobConflict as exc:
        logger.info("scheduled supplier sync skipped: %s", exc)
        return None


def job_import_create(
    *, file_format: str, filename: str, size: int, pieces: Iterable[bytes], token: ApiToken | None = None
) -> Job:
    """A queued ``import`` job of params ``{"format", "filename", "size"}`` holding exactly ``size`` bytes from
    ``pieces``, stored in job_upload_chunk in the transaction that creates the job row, so the worker (enqueued
    when it commits) never sees a job without its whole file. Raises ParamsError (field ``file``) and writes
    nothing when the pieces end early; an error raised by ``pieces`` itself also leaves nothing behind."""
    params = {"format": file_format, "filename": filename, "size": size}
    with transaction.atomic():
        job = job_create(kind=Job.Kind.IMPORT, name=f"import {filename}", params=params, token=token)
        stored = upload_store(job=job, pieces=pieces)
        if stored != size:
            raise ParamsError({"file": f"the upload ended after {stored} of {size} bytes"})
    return job
