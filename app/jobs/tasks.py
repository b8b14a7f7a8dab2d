"""Celery tasks: each takes a job id, loads the row and runs the job's service (jobs/runner.py)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="jobs.job_run")
def job_run(job_id: int) -> None:
    raise NotImplementedError("filled in by the worker work (jobs/runner.py)")
