"""The ``import`` job: a parts file uploaded over HTTP (jobs.uploads), CSV or JSON (format: jobs/import_format.py).

All or nothing. A first pass reads the whole file and checks every row, marks and models included: a model is
looked up within its mark, by exact name, else by the one name equal to it ignoring case. A file with bad rows
is rejected whole: job.error lists the first ERRORS_MAX (100) bad lines with their reasons and counts all
of them, and the catalog is untouched. A file without rows is rejected too (an empty upload is a mistake more
often than a wish to import nothing).

A good file is then read again and applied in ONE transaction: COPY into ``part`` a batch at a time (COPY needs
only INSERT; the apps' role may not create even temporary tables), so the catalog's statement triggers (the
catalog version that invalidates the search cache, the part totals) run once a batch and a million rows stay
fast. Neither pass holds more than a chunk of the file and a batch of rows in memory. The transaction ends with
the run's checkpoint ``{"applied": true, "result": ...}``, so the import is committed exactly once: a re-run
after a lost worker either finds it applied, or finds nothing of it and starts over.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import Length

from catalog.models import Mark, Model
from jobs.import_format import FileProblem, PartRow, RowProblem, rows_read
from jobs.models import JobUploadChunk
from jobs.runner import JobError, JobRun
from jobs.uploads import upload_read

ERRORS_MAX = 100
BATCH_ROWS = 10_000
COPY_SQL = "COPY part (name, mark_id, model_id, price, json_data, is_visible) FROM STDIN"


class CatalogNames:
    """Marks and their models by name: exact, else the single name equal ignoring case."""

    def __init__(self) -> None:
        self.marks: dict[str, tuple[int, str]] = {}
        self.marks_folded: dict[str, tuple[int, str] | None] = {}
        self.models: dict[int, dict[str, int]] = {}
        self.models_folded: dict[int, dict[str, int | None]] = {}
        for mark_id, name in Mark.objects.values_list("id", "name"):
            self.marks[name] = (mark_id, name)
            folded = name.casefold()
            self.marks_folded[folded] = None if folded in self.marks_folded else (mark_id, name)
        for model_id, mark_id, name in Model.objects.values_list("id", "mark_id", "name"):
            self.models.setdefault(mark_id, {})[name] = model_id
            folded_models = self.models_folded.setdefault(mark_id, {})
            folded = name.casefold()
            folded_models[folded] = None if folded in folded_models else model_id

    def resolve(self, *, mark: str, model: str) -> tuple[int, int, str] | str:
        """(mark id, model id, the mark's name), or why not."""
        found = self.marks.get(mark) or self.marks_folded.get(mark.casefold())
        if found is None:
            return f"mark: no mark named {mark!r}"
        mark_id, mark_name = found
        model_id = self.models.get(mark_id, {}).get(model) or self.models_folded.get(mark_id, {}).get(model.casefold())
        if model_id is None:
            return f"model: {mark_name} has no model named {model!r}"
        return mark_id, model_id, mark_name


def _file_size(run: JobRun) -> int:
    size = run.job.params.get("size")
    if isinstance(size, int) and size > 0:
        return size
    total = JobUploadChunk.objects.filter(job_id=run.job.pk).aggregate(total=Sum(Length("data")))["total"]
    return int(total or 0)


def _chunks(run: JobRun, *, low: int, high: int, size: int) -> Iterator[bytes]:
    """The upload's chunks, moving the run's progress from ``low`` to ``high`` percent as they are read."""
    read = 0
    for chunk in upload_read(job_id=run.job.pk):
        run.ensure_lease()
        yield chunk
        read += len(chunk)
        run.progress_set(percent=low + (high - low) * read // max(size, 1))


def _problems(run: JobRun, *, names: CatalogNames, size: int) -> tuple[int, int, list[dict[str, Any]]]:
    """First pass: (good rows, bad rows, the first ERRORS_MAX problems as {"line", "reason"})."""
    good = bad = 0
    listed: list[dict[str, Any]] = []

    def note(line: int, reason: str) -> None:
        nonlocal bad
        bad += 1
        if len(listed) < ERRORS_MAX:
            listed.append({"line": line, "reason": reason})

    rows = rows_read(chunks=_chunks(run, low=0, high=50, size=size), file_format=run.job.params["format"])
    try:
        for row in rows:
            if isinstance(row, RowProblem):
                note(row.line, row.reason)
                continue
            resolved = names.resolve(mark=row.mark, model=row.model)
            if isinstance(resolved, str):
                note(row.line, resolved)
            else:
                good += 1
    except FileProblem as exc:
        note(exc.line, exc.reason)
    return good, bad, listed


def _copy(rows: Iterable[tuple[Any, ...]]) -> None:
    with connection.cursor() as cursor, cursor.copy(COPY_SQL) as copy:
        for row in rows:
            copy.write_row(row)


def import_run(run: JobRun) -> dict[str, Any]:
    checkpoint = run.job.checkpoint or {}
    if checkpoint.get("applied"):
        return dict(checkpoint["result"])
    names = CatalogNames()
    size = _file_size(run)
    good, bad, listed = _problems(run, names=names, size=size)
    if bad:
        plural = "row" if bad == 1 else "rows"
        raise JobError(
            f"the file has {bad} bad {plural}; nothing was imported", bad_rows=bad, lines=listed, rows=good + bad
        )
    if not good:
        raise JobError("the file has no rows; nothing was imported", bad_rows=0, lines=[], rows=0)

    marks: Counter[str] = Counter()
    created = 0
    with transaction.atomic():
        batch: list[tuple[Any, ...]] = []
        for row in rows_read(chunks=_chunks(run, low=50, high=99, size=size), file_format=run.job.params["format"]):
            resolved = names.resolve(mark=row.mark, model=row.model) if isinstance(row, PartRow) else "bad row"
            if isinstance(row, RowProblem) or isinstance(resolved, str):
                raise JobError(f"line {row.line} changed between the check and the import; nothing was imported")
            mark_id, model_id, mark_name = resolved
            marks[mark_name] += 1
            batch.append(
                (row.name, mark_id, model_id, row.price, json.dumps(row.json_data, ensure_ascii=False), row.is_visible)
            )
            if len(batch) == BATCH_ROWS:
                _copy(batch)
                created += len(batch)
                batch.clear()
        if batch:
            _copy(batch)
            created += len(batch)
        result = {"rows": created, "parts_created": created, "marks": dict(sorted(marks.items()))}
        run.checkpoint(value={"applied": True, "result": result}, percent=99)
    return result
