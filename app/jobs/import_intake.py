"""Write an import job and its uploaded file in one transaction (POST /api/jobs/import/).

It belongs with the other writes in jobs/services.py; it lives here because this change does not edit that
module. It only adds to job_create: the file's chunks go into job_upload_chunk in the transaction that creates
the job row, so the worker (enqueued when that transaction commits) never sees a job without its whole file.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from jobs.models import ApiToken, Job
from jobs.params import ParamsError
from jobs.services import job_create
from jobs.uploads import upload_store


def job_import_create(
    *, file_format: str, filename: str, size: int, pieces: Iterable[bytes], token: ApiToken | None = None
) -> Job:
    """A queued ``import`` job of params ``{"format", "filename", "size"}`` holding exactly ``size`` bytes from
    ``pieces``. Raises ParamsError (field ``file``) and writes nothing when the pieces end early; an error
    raised by ``pieces`` itself also leaves nothing behind."""
    params = {"format": file_format, "filename": filename, "size": size}
    with transaction.atomic():
        job = job_create(kind=Job.Kind.IMPORT, name=f"import {filename}", params=params, token=token)
        stored = upload_store(job=job, pieces=pieces)
        if stored != size:
            raise ParamsError({"file": f"the upload ended after {stored} of {size} bytes"})
    return job
