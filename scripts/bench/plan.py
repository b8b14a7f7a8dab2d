"""What a `make bench` run measures, in order: its points (data profiles and sizes, connection counts, rounds
and their workload seeds, cache modes, ceilings), the dry run that lists them, and the progress line with its
ETA."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from scripts.bench.commands import duration_text
from scripts.bench.results import CACHE_LABELS, CACHE_MODES, CEILINGS, DEFAULT_PROFILE, SEARCHES
from scripts.bench.stack import seed_shown
from scripts.bench.workload import LONG_TAIL_DISTINCT, vocabulary_load

SEED_SECONDS_PER_PART = 80e-6  # README: 1 000 000 parts took 59-79 s here; for the ETA only


@dataclass
class Plan:
    parts: list[int]
    runs: int
    duration: int
    warmup: int
    connections: list[int]
    threads: int
    data_seed: int
    workload_seeds: list[int]
    distinct: int
    restore_parts: int
    restore_seed: int
    profiles: list[str] = field(default_factory=lambda: [DEFAULT_PROFILE])
    long_tail: int = LONG_TAIL_DISTINCT  # distinct bodies of the long-tail workload; 0: no long-tail points

    def cache_modes(self) -> tuple[str, ...]:
        return CACHE_MODES if self.long_tail else tuple(mode for mode in CACHE_MODES if mode != "long-tail")

    def workload_seed(self, run: int) -> int:
        """The workload seed of round ``run`` (1-based): the next seed each round, from the first again."""
        return self.workload_seeds[(run - 1) % len(self.workload_seeds)]

    def points_per_size(self) -> int:
        return len(self.connections) * self.runs * (len(SEARCHES) * len(self.cache_modes()) + len(CEILINGS))

    def total_points(self) -> int:
        return self.points_per_size() * len(self.parts) * len(self.profiles)


def plan_lines(plan: Plan) -> list[str]:
    """What a run would do, in order, without doing it (measure --dry-run)."""
    lines = [f"{plan.total_points()} points of {plan.duration} s ({plan.points_per_size()} per data size and profile)"]
    for profile in plan.profiles:
        lines.append(f"profile {profile}: vocabulary {len(vocabulary_load(profile).part_names)} part names")
        for size in plan.parts:
            lines.append("  " + seed_shown(parts=size, seed=plan.data_seed, profile=profile))
            for connections in plan.connections:
                for run in range(1, plan.runs + 1):
                    cache = ", ".join(CACHE_LABELS[mode] for mode in plan.cache_modes())
                    lines.append(
                        f"    {size} parts, {connections} conns, run {run} (workload seed "
                        f"{plan.workload_seed(run)}): searches with the cache {cache}; then the ceilings"
                    )
    lines.append(f"  then the usual catalog again: {plan.restore_parts} parts, seed {plan.restore_seed}")
    return lines


@dataclass
class Progress:
    total: int
    plan: Plan
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    point_seconds: float = 0.0  # wall time spent in points so far
    sizes_left: list[int] = field(default_factory=list)  # one entry per data size and profile still to seed

    def eta(self) -> float:
        left = self.total - self.done
        per_point = self.point_seconds / self.done if self.done else self.plan.duration + 3
        seeding = sum(parts * SEED_SECONDS_PER_PART + 10 for parts in self.sizes_left)
        warmups = len(self.sizes_left) * len(SEARCHES) * (self.plan.warmup + 2)
        return left * per_point + seeding + warmups

    def line(self, description: str, result: str) -> str:
        elapsed = time.monotonic() - self.started
        return (
            f"point {self.done}/{self.total} | {description} | {result} | "
            f"elapsed {duration_text(elapsed)}, ETA {duration_text(self.eta())}"
        )
