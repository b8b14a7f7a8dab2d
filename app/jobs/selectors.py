"""Reads of jobs for the API: a page of the job list and one job's detail.

Anyone may read a job's state; only a reader with an API token sees JOB_PRIVATE_FIELDS. A job's name and
params can hold the name of an uploaded file (``import prices-2024.csv``); its result and error hold the
rejected lines of a file, the names of supplier feeds and why fetching them failed (hosts, addresses, the
server's answer). None of that is for the public port. The state (kind, status, progress, times, attempts,
duration) stays open: it is what a progress bar or a status page polls, and it tells nothing of the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from jobs.errors import job_not_found, job_url
from jobs.models import Job

PAGE_SIZE = 10
# The job list's orders; each ends in id, so rows with equal keys keep one order from page to page.
JOB_SORTS: dict[str, tuple[str, ...]] = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    # Alphabetical (done, failed, queued, running), newest first within a status (job_status_created_idx).
    "status": ("status", "-created_at", "-id"),
}
JOB_SORT_DEFAULT = "-created"
# Fields that GET /api/jobs/ID/ adds on request (?fields=name,duration).
JOB_EXTRA_FIELDS = ("duration", "name", "params")
# Fields shown only to a reader with an API token (the module docstring says why).
JOB_PRIVATE_FIELDS = frozenset(("name", "params", "result", "error"))
# The largest job id there can be (bigint); a larger one in a URL is simply not a job.
JOB_ID_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True, kw_only=True)
class JobPage:
    rows: list[dict[str, Any]]
    count: int
    page: int
    pages: int


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _public(detail: dict[str, Any], *, private: bool) -> dict[str, Any]:
    """``detail`` as a reader sees it: whole with a token (``private``), without JOB_PRIVATE_FIELDS otherwise."""
    return detail if private else {key: value for key, value in detail.items() if key not in JOB_PRIVATE_FIELDS}


def job_list(*, page: int, sort: str, private: bool) -> JobPage:
    """Page ``page`` (from 1) of every job in ``sort`` order (a JOB_SORTS key). A page past the end is
    empty; ``count`` is the number of jobs whatever the page, as in the search's answer. Names only when
    ``private`` (the reader sent a token)."""
    jobs = Job.objects.order_by(*JOB_SORTS[sort]).values("id", "name", "kind", "status", "created_at")
    offset = (page - 1) * PAGE_SIZE
    rows = [
        _public(
            {
                "id": row["id"],
                "url": job_url(row["id"]),
                "name": row["name"],
                "kind": row["kind"],
                "status": row["status"],
                "created": _iso(row["created_at"]),
            },
            private=private,
        )
        for row in jobs[offset : offset + PAGE_SIZE]
    ]
    count = Job.objects.count()
    return JobPage(rows=rows, count=count, page=page, pages=-(-count // PAGE_SIZE))


def job_duration(job: Job, *, now: datetime) -> float | None:
    """Seconds from start to finish; up to ``now`` while unfinished; None before the first start."""
    if job.started_at is None:
        return None
    end = job.finished_at or now
    return round(max((end - job.started_at).total_seconds(), 0.0), 3)


def job_detail(*, job_id: int, private: bool, fields: frozenset[str] = frozenset()) -> dict[str, Any]:
    """One job as the API shows it, with the JOB_EXTRA_FIELDS named in ``fields``; the API's 404 if none.
    Without ``private`` (a reader with a token) no JOB_PRIVATE_FIELDS: the caller refuses to ask for them."""
    job = Job.objects.filter(pk=job_id).first() if job_id <= JOB_ID_MAX else None
    if job is None:
        raise job_not_found(job_id)
    detail: dict[str, Any] = {
        "id": job.pk,
        "url": job_url(job.pk),
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "created": _iso(job.created_at),
        "started": _iso(job.started_at),
        "finished": _iso(job.finished_at),
        "attempts": job.attempts,
        "result": job.result,
        "error": job.error,
    }
    if "name" in fields:
        detail["name"] = job.name
    if "params" in fields:
        detail["params"] = job.params
    if "duration" in fields:
        detail["duration"] = job_duration(job, now=timezone.now())
    return _public(detail, private=private)
