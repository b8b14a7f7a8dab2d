"""Writes to the catalog: seeding random but reproducible parts of a data profile (catalog/profiles.py)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction

from catalog.models import Mark, Model, Part
from catalog.profiles import (
    CATALOG,
    COLORS,
    DEFAULT_PROFILE,
    KEY_SHARE,
    MAX_PRICE,
    PART_NAMES,
    VISIBLE_SHARE,
    part_draw,
    vocabulary,
)

__all__ = [
    # The task profile's vocabulary lived here first; it is still importable from here.
    "CATALOG",
    "COLORS",
    "KEY_SHARE",
    "MAX_PRICE",
    "PART_NAMES",
    "VISIBLE_SHARE",
    "SeedResult",
    "catalog_clear",
    "catalog_ensure",
    "parts_random",
    "parts_seed",
]

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class SeedResult:
    marks: int
    models: int
    parts_created: int


# Rows that no part references and that the profile being seeded does not have: what a --clear removes after
# the parts, so that the catalog holds that profile's marks and models only. Guarded by NOT EXISTS rather than
# "every part is gone": a seed job may be adding parts of its own meanwhile.
STRAY_MODELS_DELETE = """
DELETE FROM model d
WHERE d.id <> ALL(%s) AND NOT EXISTS (SELECT FROM part p WHERE p.model_id = d.id)
"""
STRAY_MARKS_DELETE = """
DELETE FROM mark m
WHERE m.id <> ALL(%s)
  AND NOT EXISTS (SELECT FROM part p WHERE p.mark_id = m.id)
  AND NOT EXISTS (SELECT FROM model d WHERE d.mark_id = m.id)
"""


def catalog_ensure(profile: str = DEFAULT_PROFILE) -> list[Model]:
    """Create the profile's marks and models that are missing; return its models, in its vocabulary's order.

    Rows that exist are kept as they are (a mark both profiles have is one row), so ids stay stable. Missing
    rows are inserted in one statement per table, in vocabulary order (on a fresh database the task profile's
    marks and models get ids 1 to 5, as they always have), and a concurrent seed inserting the same rows is
    no error (ON CONFLICT DO NOTHING, then read back).
    """
    words = vocabulary(profile)
    mark_names = [name for name, _ in words.marks]

    def marks_by_name() -> dict[str, Mark]:
        return {mark.name: mark for mark in Mark.objects.filter(name__in=mark_names)}

    marks = marks_by_name()
    missing_marks = [
        Mark(name=name, producer_country_name=country) for name, country in words.marks if name not in marks
    ]
    if missing_marks:
        Mark.objects.bulk_create(missing_marks, ignore_conflicts=True)
        marks = marks_by_name()
    mark_ids = [marks[name].id for name in mark_names]

    def models_by_key() -> dict[tuple[int, str], Model]:
        return {(model.mark_id, model.name): model for model in Model.objects.filter(mark_id__in=mark_ids)}

    models = models_by_key()
    keys = [(mark_ids[mark], name) for name, mark in words.models]
    missing_models = [Model(mark_id=mark_id, name=name) for mark_id, name in keys if (mark_id, name) not in models]
    if missing_models:
        Model.objects.bulk_create(missing_models, ignore_conflicts=True)
        models = models_by_key()
    return [models[key] for key in keys]


def parts_random(*, rng: random.Random, models: list[Model], count: int, profile: str = DEFAULT_PROFILE) -> list[Part]:
    """``count`` unsaved random parts of ``profile`` drawn from ``rng`` (the generator of parts_seed and of the
    seed job); ``models`` are the profile's, as catalog_ensure returns them."""
    draw = part_draw(profile)
    parts = []
    for _ in range(count):
        fields = draw(rng)
        model = models[fields.model]
        parts.append(
            Part(
                name=fields.name,
                mark_id=model.mark_id,
                model=model,
                price=fields.price,
                json_data=fields.json_data,
                is_visible=fields.is_visible,
            )
        )
    return parts


def catalog_clear(*, keep: list[Model]) -> None:
    """Delete every part, then every model and mark that no part references other than ``keep`` and their marks.

    DELETE, not TRUNCATE: the apps' database role may only read and write rows (TRUNCATE's ACCESS EXCLUSIVE
    lock would stall every search). One transaction, whatever the row count, so without the request statement
    timeout.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute("DELETE FROM part")
        # The names the triggers keep (catalog/models.py, PartName) outlive their parts; a clear drops them too.
        cursor.execute("DELETE FROM part_names")
        cursor.execute(STRAY_MODELS_DELETE, [[model.id for model in keep]])
        cursor.execute(STRAY_MARKS_DELETE, [sorted({model.mark_id for model in keep})])


def parts_seed(
    *,
    parts: int,
    seed: int,
    batch_size: int = 5_000,
    clear: bool = False,
    profile: str = DEFAULT_PROFILE,
    progress: Progress | None = None,
) -> SeedResult:
    """Add ``parts`` random parts of ``profile``; the same profile and seed always yield the same parts.

    Marks and models are created once and reused, so running it again only adds
    parts (or, with ``clear``, replaces them and drops the marks and models of
    other profiles). Each batch commits on its own, so a large seed that is
    interrupted keeps what it wrote.
    """
    models = catalog_ensure(profile)
    if clear:
        catalog_clear(keep=models)
    rng = random.Random(seed)
    created = 0
    while created < parts:
        size = min(batch_size, parts - created)
        batch = parts_random(rng=rng, models=models, count=size, profile=profile)
        with transaction.atomic():
            Part.objects.bulk_create(batch, batch_size=size)
        created += size
        if progress is not None:
            progress(created, parts)
    return SeedResult(marks=Mark.objects.count(), models=Model.objects.count(), parts_created=created)
