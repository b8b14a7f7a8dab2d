"""``manage.py seed_parts --parts N --seed S [--profile P]``: fill the catalog with reproducible random parts."""

from __future__ import annotations

import time
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand

from catalog.profiles import DEFAULT_PROFILE, PROFILES, REALISTIC_MARKS, REALISTIC_MODELS, REALISTIC_PART_NAMES
from catalog.services import parts_seed


def _whole_number(text: str, *, low: int) -> int:
    if not text.isdigit() or int(text) < low:
        raise ArgumentTypeError(f"must be a whole number of at least {low}, not {text!r}")
    return int(text)


def _non_negative(text: str) -> int:
    """A count that may be 0 (``--parts 0 --clear`` empties the catalog)."""
    return _whole_number(text, low=0)


def _positive(text: str) -> int:
    """A count where 0 makes no sense (a batch of no rows would never finish)."""
    return _whole_number(text, low=1)


class Command(BaseCommand):
    help = (
        "Create the profile's marks and models if missing and add N random parts of it (reproducible by --profile "
        "and --seed)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--parts", type=_non_negative, default=10_000, help="parts to add (default 10000)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument("--batch-size", type=_positive, default=5_000, help="rows per INSERT (default 5000)")
        parser.add_argument(
            "--clear",
            action="store_true",
            help="delete every existing part first, and the marks and models the profile does not have",
        )
        parser.add_argument(
            "--profile",
            choices=PROFILES,
            default=DEFAULT_PROFILE,
            help="data profile (catalog/profiles.py): task, 5 marks with one model each and 15 part names drawn "
            f"uniformly; realistic, {REALISTIC_MARKS} marks, {REALISTIC_MODELS} models, {REALISTIC_PART_NAMES} "
            f"part names, Zipf-skewed (default {DEFAULT_PROFILE})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        interactive = self.stderr.isatty()
        shown = -1

        def progress(done: int, total: int) -> None:
            nonlocal shown
            percent = done * 100 // total
            # A live bar on a terminal; a line every 10 % in logs.
            if not interactive and percent // 10 == shown // 10 and done != total:
                return
            shown = percent
            filled = percent // 5
            bar = "#" * filled + "." * (20 - filled)
            line = f"[{bar}] {done}/{total} parts {percent:3d}% {time.monotonic() - started:6.1f}s"
            self.stderr.write(f"\r{line}" if interactive else line, ending="" if interactive else "\n")

        result = parts_seed(
            parts=options["parts"],
            seed=options["seed"],
            batch_size=options["batch_size"],
            clear=options["clear"],
            profile=options["profile"],
            progress=progress,
        )
        if interactive and result.parts_created:
            self.stderr.write("")
        self.stdout.write(
            f"seeded {result.parts_created} parts (seed {options['seed']}, profile {options['profile']}) "
            f"in {time.monotonic() - started:.1f}s; {result.marks} marks, {result.models} models"
        )
