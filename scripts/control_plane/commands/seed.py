"""seed [--if-empty] [--clear] [--parts N] [--seed S] [--profile task|realistic] (scripts/seed.sh): fill the
catalog with ``manage.py seed_parts`` inside a healthy task of the live django colour.

  --if-empty   only when no part is visible (checked in the same task, with the ORM); otherwise nothing
  --clear      replace every part: the same seed then gives the same catalog, whatever it held before
  --profile    the data profile (app/catalog/profiles.py); passed on only when given, so an image from before
               profiles still seeds
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from scripts.control_plane.context import Context
from scripts.control_plane.runbook import Failure

USAGE = "usage: seed.sh [--if-empty] [--clear] [--parts N] [--seed S] [--profile task|realistic]"
# Run inside the task with Django set up: 0 when a visible part exists, else 3.
ANY_VISIBLE_PART = """
import sys
from catalog.models import Part
sys.exit(0 if Part.objects.filter(is_visible=True).exists() else 3)
"""
NO_VISIBLE_PART = 3


@dataclass(frozen=True)
class SeedRequest:
    if_empty: bool = False
    clear: bool = False
    parts: int = 10_000
    seed: int = 1
    profile: str | None = None

    def argv(self) -> list[str]:
        """seed_parts' arguments, in the order seed.sh gave them."""
        argv = ["python", "manage.py", "seed_parts"]
        argv += ["--clear"] if self.clear else []
        argv += ["--profile", self.profile] if self.profile is not None else []
        return [*argv, "--parts", str(self.parts), "--seed", str(self.seed)]


def seed_request(args: Sequence[str]) -> SeedRequest:
    """The arguments as seed.sh took them; a Failure with the usage for anything else."""
    request = SeedRequest()
    items = iter(args)
    for arg in items:
        if arg == "--if-empty":
            request = replace(request, if_empty=True)
        elif arg == "--clear":
            request = replace(request, clear=True)
        elif arg in ("--parts", "--seed"):
            value = next(items, "")
            if not value.isdigit():
                raise Failure(f"{arg} needs a whole number\n{USAGE}")
            request = replace(request, parts=int(value)) if arg == "--parts" else replace(request, seed=int(value))
        elif arg == "--profile":
            value = next(items, "")
            if not value or value.startswith("-"):
                raise Failure(f"--profile needs a profile name\n{USAGE}")
            request = replace(request, profile=value)
        else:
            raise Failure(USAGE)
    return request


def run(ctx: Context, args: Sequence[str]) -> None:
    request = seed_request(args)
    ctx.require_docker()
    django = ctx.service_name("django")
    containers = ctx.docker.containers(django, healthy=True)
    if not containers:
        raise Failure(f"no healthy {django} task on this node")
    container = containers[0]
    ctx.verdict.details.update({"task": container.id, "parts": request.parts, "seed": request.seed})
    if request.if_empty:
        found = ctx.docker.exec_read(container, ["python", "manage.py", "shell", "-c", ANY_VISIBLE_PART])
        if found.returncode == 0:
            ctx.log("catalog already holds visible parts; not seeding")
            ctx.verdict.outcome = "unchanged"
            return
        if found.returncode != NO_VISIBLE_PART:
            ctx.runbook.relay(found.stderr)
            raise Failure(f"could not count the catalog's parts in {django} (exit {found.returncode})")
    started = ctx.clock.monotonic()
    result = ctx.docker.exec_change(container, request.argv(), stream=True)
    if result.returncode != 0:
        raise Failure(f"seed_parts failed (exit {result.returncode})", exit_code=result.returncode)
    if ctx.dry_run:
        ctx.verdict.outcome = "dry_run"
        return
    profile = f", profile {request.profile}" if request.profile else ""
    ctx.log(f"seeded {request.parts} parts (seed {request.seed}{profile}) in {ctx.clock.monotonic() - started:.0f}s")
    ctx.verdict.outcome = "seeded"
