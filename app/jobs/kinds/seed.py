"""The ``seed`` job: add ``params["parts"]`` random parts of ``params["profile"]``, with the generator of
``manage.py seed_parts``.

Checkpointed so that a re-run after a lost worker resumes and the job adds exactly N parts: the parts are
committed in batches, and each batch's transaction also records the batches done (and the progress) in the job
row, fenced by the run (jobs/runner.py). Batch ``i`` draws from ``random.Random(f"{seed}/{i}")``, so it is the
same batch whichever run writes it. The batch size is kept in the checkpoint: a re-run under another
JOBS_SEED_BATCH_SIZE still cuts the job where the first run did.
"""

from __future__ import annotations

import random
from typing import Any

from django.conf import settings
from django.db import transaction

from catalog.models import Part
from catalog.profiles import DEFAULT_PROFILE
from catalog.services import catalog_ensure, parts_random
from jobs.runner import JobRun


def seed_run(run: JobRun) -> dict[str, Any]:
    parts: int = run.job.params["parts"]
    seed: int = run.job.params["seed"]
    # Jobs queued before profiles existed have none: theirs was the task profile.
    profile: str = run.job.params.get("profile", DEFAULT_PROFILE)
    checkpoint = run.job.checkpoint or {}
    batch_size: int = checkpoint.get("batch_size", settings.JOBS_SEED_BATCH_SIZE)
    first_batch: int = checkpoint.get("batches_done", 0)
    models = catalog_ensure(profile)
    batches = -(-parts // batch_size)
    for batch in range(first_batch, batches):
        run.ensure_lease()
        size = min(batch_size, parts - batch * batch_size)
        created = batch * batch_size + size
        rng = random.Random(f"{seed}/{batch}")  # noqa: S311 (reproducible data, not secrets)
        rows = parts_random(rng=rng, models=models, count=size, profile=profile)
        with transaction.atomic():
            Part.objects.bulk_create(rows, batch_size=size)
            run.checkpoint(
                value={"batch_size": batch_size, "batches_done": batch + 1, "parts_created": created},
                percent=created * 100 // parts,
            )
    return {"parts_created": parts, "seed": seed}
