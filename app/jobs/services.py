"""Writes to jobs: create a job from validated parameters and enqueue it once its row is committed."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from jobs import params as job_params
from jobs.models import ApiToken, Job


class JobConflict(Exception):
    """A job of this kind is already queued or running (the supplier sync runs one at a time)."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"{job.kind} job {job.pk} is already {job.status}")
        self.job = job


def job_enqueue(*, job_id: int) -> None:
    """Hand the job to a worker. Called from transaction.on_commit, so the worker always finds the row."""
    from jobs.tasks import job_run  # the Celery app imports this module; import the task late

    job_run.delay(job_id)


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


def job_name_default(*, kind: str, params: dict[str, Any]) -> str:
    return job_params.describe(kind=kind, params=params)
