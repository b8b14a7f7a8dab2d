"""Celery tasks: each takes an id (or nothing), and calls one service. Messages are JSON; a task is acknowledged
after it ran (settings: CELERY_TASK_ACKS_LATE), and may be delivered more than once: job_run is idempotent by
job id (jobs/runner.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import shared_task

from jobs import runner, services
from jobs.kinds.imports import import_run
from jobs.kinds.seed import seed_run
from jobs.kinds.supplier_sync import supplier_sync_run

KINDS: dict[str, Callable[[runner.JobRun], dict[str, Any]]] = {
    "seed": seed_run,
    "import": import_run,
    "supplier_sync": supplier_sync_run,
}


@shared_task(name=services.JOB_RUN_TASK)
def job_run(job_id: int) -> None:
    runner.job_execute(job_id=job_id, kinds=KINDS)


# The periodic tasks (CELERY_BEAT_SCHEDULE) are short: a minute is plenty.
@shared_task(name="jobs.job_reap", soft_time_limit=60, time_limit=90)
def job_reap() -> dict[str, list[int]]:
    return services.job_reap()


@shared_task(name="jobs.supplier_sync_schedule", soft_time_limit=60, time_limit=90)
def supplier_sync_schedule() -> int | None:
    job = services.supplier_sync_schedule()
    return job.pk if job is not None else None
