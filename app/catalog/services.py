"""Writes to the catalog: seeding random but reproducible parts."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from catalog.models import Mark, Model, Part

# (mark, producer country, model): 5 marks with one model each.
CATALOG = (
    ("Honda", "Япония", "Accord"),
    ("Toyota", "Япония", "Camry"),
    ("BMW", "Германия", "X5"),
    ("Lada", "Россия", "Vesta"),
    ("Hyundai", "Южная Корея", "Solaris"),
)
PART_NAMES = (
    "Бампер передний",
    "Бампер задний",
    "Фара левая",
    "Фара правая",
    "Капот",
    "Крыло переднее левое",
    "Зеркало боковое",
    "Радиатор",
    "Тормозной диск",
    "Лобовое стекло",
    "Brake pad",
    "Oil filter",
    "Air filter",
    "Spark plug",
    "Timing belt",
)
COLORS = ("черный", "белый", "красный", "синий", "серебристый", "зеленый", "Black", "White")
MAX_PRICE = 100_000
VISIBLE_SHARE = 0.9
KEY_SHARE = 0.5  # each json_data key is present in about half of the parts

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class SeedResult:
    marks: int
    models: int
    parts_created: int


def catalog_ensure() -> list[Model]:
    """Create the 5 marks and 5 models if missing; return the models, in CATALOG order."""
    models = []
    for mark_name, country, model_name in CATALOG:
        mark, _ = Mark.objects.get_or_create(name=mark_name, defaults={"producer_country_name": country})
        model, _ = Model.objects.get_or_create(mark=mark, name=model_name)
        models.append(model)
    return models


def _random_json_data(rng: random.Random) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if rng.random() < KEY_SHARE:
        data["color"] = rng.choice(COLORS)
    if rng.random() < KEY_SHARE:
        data["is_new_part"] = rng.random() < 0.5
    if rng.random() < KEY_SHARE:
        data["count"] = rng.randint(0, 50)
    return data


def _random_part(rng: random.Random, models: list[Model]) -> Part:
    model = rng.choice(models)
    return Part(
        name=rng.choice(PART_NAMES),
        mark_id=model.mark_id,
        model=model,
        price=rng.randint(0, MAX_PRICE),
        json_data=_random_json_data(rng),
        is_visible=rng.random() < VISIBLE_SHARE,
    )


def parts_random(*, rng: random.Random, models: list[Model], count: int) -> list[Part]:
    """``count`` unsaved random parts drawn from ``rng`` (the generator of parts_seed and of the seed job)."""
    return [_random_part(rng, models) for _ in range(count)]


def parts_seed(
    *,
    parts: int,
    seed: int,
    batch_size: int = 5_000,
    clear: bool = False,
    progress: Progress | None = None,
) -> SeedResult:
    """Add ``parts`` random parts; the same seed always yields the same parts.

    Marks and models are created once and reused, so running it again only adds
    parts (or, with ``clear``, replaces them). Each batch commits on its own, so
    a large seed that is interrupted keeps what it wrote.
    """
    models = catalog_ensure()
    if clear:
        # DELETE, not TRUNCATE: the apps' database role may only read and write rows (TRUNCATE's
        # ACCESS EXCLUSIVE lock would stall every search). One statement, whatever the row count, so
        # without the request statement timeout.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 0")
            cursor.execute("DELETE FROM part")
    rng = random.Random(seed)
    created = 0
    while created < parts:
        size = min(batch_size, parts - created)
        batch = parts_random(rng=rng, models=models, count=size)
        with transaction.atomic():
            Part.objects.bulk_create(batch, batch_size=size)
        created += size
        if progress is not None:
            progress(created, parts)
    return SeedResult(marks=Mark.objects.count(), models=Model.objects.count(), parts_created=created)
