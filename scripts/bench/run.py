"""`make bench`: both searches and their ceilings, measured on the running stack through Nginx.

Usage (scripts/bench.sh fills the stack's names in; see scripts/README.md):
    python -m scripts.bench.run measure --parts 10000 1000000 --runs 3 --duration 10 ...
    python -m scripts.bench.run summarize bench-results/<run>   # summary.md, plots and index from results.json
    python -m scripts.bench.run index                           # bench-results/README.md
    python -m scripts.bench.run prune [--keep N]                # raw/ only for the N newest runs (2)
    python -m scripts.bench.run workload --out DIR              # the bodies file and pgbench script of a seed

For each data profile and size: seed the catalog through the stack (scripts/seed.sh --clear, reproducible),
VACUUM (FULL, ANALYZE) then VACUUM (for the visibility maps), warm each search up, then for each connection
count, RUNS rounds of: Django and FastAPI searches alternating, cache bypassed, then on, then on over the
long-tail workload; then the ceilings (Nginx's fixed answer, each service's /healthz, pgbench with the FastAPI SQL).
So drift over a long run reaches every target alike. Round r draws its bodies from the r-th workload seed
(cycling), so the spread of the runs is also the spread across workload seeds. At the end the catalog holds what
`make up` seeds again.

The bypassed searches and the /healthz ceilings go through the edge as an operator: Nginx passes a search's
Cache-Control, and serves the apps' probes, only to a request with its operator token (nginx/lua/
edge_operator.lua). The runner reads the token inside the Nginx task and hands it to wrk in the environment
(EDGE_OPERATOR_TOKEN), never on a command line that the raw results record; before measuring, it checks that
a bypassed search really was answered without the cache.

Bench.run below is that order; each step lives with its concern: the points and the ETA in plan.py, the stack
(requests through Nginx, SQL and seeding inside its tasks, the checks) in stack.py, one point's wrk or pgbench
and the files they read in measure.py, what env.md records of host, commit and stack in facts.py, the run
folder's summary.md, env.md, plots and the index in reports.py (its tables and parsing in results.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scripts.bench.commands import ROOT, checked, duration_text, log, shown
from scripts.bench.facts import git_facts, host_facts, pgbench_version, postgres_facts, stack_facts, uncommitted_changes
from scripts.bench.measure import Meter
from scripts.bench.plan import Plan, Progress, plan_lines
from scripts.bench.reports import RESULTS_DIR, write_index, write_reports
from scripts.bench.results import (
    CACHE_LABELS,
    CEILINGS,
    DEFAULT_PROFILE,
    LABELS,
    RAW_KEPT,
    SEARCHES,
    Point,
    prune_raw,
    size_key,
)
from scripts.bench.stack import Stack
from scripts.bench.workload import (
    DEFAULT_DISTINCT,
    LONG_TAIL_DISTINCT,
    LONG_TAIL_EXPONENT,
    ZIPF_EXPONENT,
    bodies_write,
    vocabulary_load,
    workload_generate,
)

PAUSE_S = 1.0  # between points: connections closed by the last point are gone before the next opens


class Bench:
    """One run of `make bench`, in the order the module's docstring tells it (run)."""

    def __init__(self, *, stack: Stack, plan: Plan, out: Path, invocation: str) -> None:
        self.stack = stack
        self.plan = plan
        self.out = out
        self.invocation = invocation
        self.meter = Meter(stack=stack, plan=plan, out=out)
        self.points: list[Point] = []
        self.meta: dict[str, Any] = {}
        self.touched = False  # whether this run changed the catalog
        # (profile, parts, seed) the catalog holds since this run seeded it
        self.seeded: tuple[str, int, int] | None = None
        self.sizes: dict[str, dict[str, Any]] = {}  # size_key(profile, size): visible parts, seconds to seed
        sizes = [size for _profile in plan.profiles for size in plan.parts]
        self.progress = Progress(total=plan.total_points(), plan=plan, sizes_left=sizes)

    def run(self) -> int:
        log(
            f"{self.plan.total_points()} points ({self.plan.points_per_size()} per data size) of "
            f"{self.plan.duration}s each; results in {shown(self.out)}"
        )
        self.out.mkdir(parents=True, exist_ok=True)
        try:
            self.prepare()
            for profile in self.plan.profiles:
                self.prepare_profile(profile)
                for size in self.plan.parts:
                    self.measure_size(profile, size)
        finally:
            self.meta["finished"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            self.meta["elapsed_seconds"] = round(time.monotonic() - self.progress.started)
            self.save()
            try:
                self.restore()
            finally:
                if self.points:
                    write_reports(self.out)
        failed = [point for point in self.points if point.failed]
        log(
            f"done in {duration_text(time.monotonic() - self.progress.started)}: "
            f"{shown(self.out)}/summary.md" + (f"; {len(failed)} points failed" if failed else "")
        )
        return 1 if failed else 0

    def prepare(self) -> None:
        (self.out / "tmp").mkdir(parents=True, exist_ok=True)
        (self.out / "tmp" / ".gitignore").write_text("*\n")
        for profile in self.plan.profiles:
            vocabulary_load(profile)  # an unknown profile stops the run before anything is seeded
        self.meta.update(
            {
                "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                "invocation": self.invocation,
                "parts": self.plan.parts,
                "profiles": self.plan.profiles,
                "plan": {
                    key: getattr(self.plan, key)
                    for key in (
                        "runs",
                        "duration",
                        "warmup",
                        "connections",
                        "threads",
                        "data_seed",
                        "workload_seeds",
                        "distinct",
                        "long_tail",
                    )
                },
                "git": git_facts(),
                "host": host_facts(),
            }
        )
        self.meter.fixed_path = self.stack.check()
        self.meta["fixed_path"] = self.meter.fixed_path
        self.meta["stack"] = stack_facts(self.stack)
        self.meta["postgres"] = postgres_facts(self.stack)
        self.meta["pgbench"] = pgbench_version(self.stack)
        self.save()

    def prepare_profile(self, profile: str) -> None:
        """The bodies files of a data profile, one per workload seed (and the long tail's), and their shapes."""
        self.meta.setdefault("workloads", {})[profile] = self.meter.prepare_bodies(profile)
        self.save()

    def measure_size(self, profile: str, size: int) -> None:
        self.touched = True
        self.seeded = None  # a seed that fails half-way leaves the catalog in between
        seconds = self.stack.seed(parts=size, seed=self.plan.data_seed, profile=profile)
        self.seeded = (profile, size, self.plan.data_seed)
        visible = self.stack.visible_parts()
        self.sizes[size_key(profile, size)] = {"visible": visible, "seed_seconds": round(seconds, 1)}
        self.meta["sizes"] = self.sizes
        self.progress.sizes_left.remove(size)
        log(f"{size} parts ({profile} profile) seeded in {seconds:.0f}s ({visible} visible)")
        self.meter.record_pgbench_scripts(profile, size)
        self.meter.warm_up(profile, size)
        for connections in self.plan.connections:
            for run in range(1, self.plan.runs + 1):
                seed = self.plan.workload_seed(run)
                targets = [(target, cache) for cache in self.plan.cache_modes() for target in SEARCHES]
                for target, cache in targets + [(target, "-") for target in CEILINGS]:
                    self.measure(
                        Point(
                            size=size,
                            target=target,
                            cache=cache,
                            connections=connections,
                            run=run,
                            profile=profile,
                            workload_seed=seed,
                        )
                    )

    def measure(self, point: Point) -> None:
        size = f"{point.size:,}".replace(",", " ")
        cache = f", cache {CACHE_LABELS[point.cache]}" if point.cache != "-" else ""
        runs = f"run {point.run}/{self.plan.runs} (workload seed {point.workload_seed})"
        description = (
            f"{size} parts, {point.profile} | {LABELS[point.target]}{cache} | {point.connections} conns | {runs}"
        )
        started = time.monotonic()
        result = self.meter.measure(point)
        point.seconds = time.monotonic() - started
        self.points.append(point)
        self.progress.done += 1
        self.progress.point_seconds += point.seconds + PAUSE_S
        self.save()
        log(self.progress.line(description, result))
        time.sleep(PAUSE_S)

    def restore(self) -> None:
        plan = self.plan
        if not self.touched:
            return
        if self.seeded == (DEFAULT_PROFILE, plan.restore_parts, plan.restore_seed):
            log(f"the catalog already holds {plan.restore_parts} parts of seed {plan.restore_seed}")
            return
        log(f"restoring the usual catalog: {plan.restore_parts} parts, seed {plan.restore_seed}")
        self.stack.seed(parts=plan.restore_parts, seed=plan.restore_seed)

    def save(self) -> None:
        data = {"meta": self.meta, "points": [point.to_dict() for point in self.points]}
        (self.out / "results.json").write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n")


def run_folder(results_dir: Path) -> Path:
    """bench-results/<date>-<short commit>[-dirty], with -2, -3 ... when that exists already."""
    short = checked(["git", "-C", str(ROOT), "rev-parse", "--short=7", "HEAD"]).strip()
    base = f"{dt.datetime.now(dt.UTC):%Y-%m-%d}-{short}{'-dirty' if uncommitted_changes() else ''}"
    folder = results_dir / base
    number = 2
    while folder.exists():
        folder = results_dir / f"{base}-{number}"
        number += 1
    return folder


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.run", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    measure = commands.add_parser("measure", help="measure the running stack and write a run folder")
    measure.add_argument("--parts", type=int, nargs="+", default=[10_000, 1_000_000])
    measure.add_argument("--runs", type=int, default=3)
    measure.add_argument("--duration", type=int, default=10, help="seconds per point")
    measure.add_argument("--warmup", type=int, default=5, help="seconds per search and data size")
    measure.add_argument("--connections", type=int, nargs="+", default=[8, 32, 128])
    measure.add_argument("--threads", type=int, default=2, help="wrk threads (pgbench: -j)")
    measure.add_argument("--data-seed", type=int, default=1)
    measure.add_argument(
        "--workload-seeds", type=int, nargs="+", default=[1, 2, 3], help="round r draws from the r-th seed"
    )
    measure.add_argument("--distinct", type=int, default=DEFAULT_DISTINCT, help="distinct search bodies")
    measure.add_argument(
        "--long-tail",
        type=int,
        default=LONG_TAIL_DISTINCT,
        help="distinct bodies of the cache-on long-tail points (0: none)",
    )
    measure.add_argument("--profiles", nargs="+", default=[DEFAULT_PROFILE], help="data profiles (profiles.py)")
    measure.add_argument(
        "--dry-run", action="store_true", help="print what would be seeded and measured; touch nothing"
    )
    measure.add_argument("--restore-parts", type=int, default=10_000)
    measure.add_argument("--restore-seed", type=int, default=1)
    measure.add_argument("--base-url", default="http://127.0.0.1:8080")
    measure.add_argument("--host", default="localhost", help="Host header (a name Django accepts)")
    measure.add_argument("--django-service", required=True)
    measure.add_argument("--fastapi-service", required=True)
    measure.add_argument("--nginx-service", required=True)
    measure.add_argument("--postgres-service", required=True)
    measure.add_argument("--out", type=Path, help="run folder (default bench-results/<date>-<commit>)")
    measure.add_argument("--invocation", default="", help="the command as the user typed it, for env.md")

    summarize = commands.add_parser("summarize", help="rewrite summary.md, env.md and plots from results.json")
    summarize.add_argument("folder", type=Path)

    commands.add_parser("index", help="rewrite bench-results/README.md")
    prune = commands.add_parser("prune", help="remove raw/ from all but the newest runs, then rewrite the index")
    prune.add_argument("--keep", type=int, default=RAW_KEPT, help=f"runs that keep raw/ (default {RAW_KEPT})")

    workload = commands.add_parser("workload", help="write the bodies file")
    workload.add_argument("--profile", default=DEFAULT_PROFILE)
    workload.add_argument("--seed", type=int, default=1)
    workload.add_argument("--distinct", type=int, default=DEFAULT_DISTINCT)
    workload.add_argument(
        "--long-tail", action="store_true", help=f"the long tail's skew (exponent {LONG_TAIL_EXPONENT})"
    )
    workload.add_argument("--out", type=Path, required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "summarize":
        write_reports(args.folder.resolve())
        return 0
    if args.command == "index":
        write_index()
        return 0
    if args.command == "prune":
        for raw in prune_raw(RESULTS_DIR, args.keep):
            print(f"removed {raw.relative_to(ROOT)}")
        write_index()
        return 0
    if args.command == "workload":
        exponent = LONG_TAIL_EXPONENT if args.long_tail else ZIPF_EXPONENT
        vocabulary = vocabulary_load(args.profile)
        bodies = workload_generate(seed=args.seed, distinct=args.distinct, vocabulary=vocabulary, exponent=exponent)
        digest = bodies_write(args.out / "bodies.tsv", bodies)
        print(f"{args.out / 'bodies.tsv'} (sha256 {digest})")
        return 0

    if min(args.connections) < args.threads:
        parser.error(f"every connection count must be at least --threads ({args.threads})")
    plan = Plan(
        parts=args.parts,
        runs=args.runs,
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        threads=args.threads,
        data_seed=args.data_seed,
        workload_seeds=args.workload_seeds,
        distinct=args.distinct,
        restore_parts=args.restore_parts,
        restore_seed=args.restore_seed,
        profiles=list(dict.fromkeys(args.profiles)),
        long_tail=args.long_tail,
    )
    if args.dry_run:
        print("\n".join(plan_lines(plan)))
        return 0
    stack = Stack(
        base_url=args.base_url.rstrip("/"),
        host=args.host,
        django_service=args.django_service,
        fastapi_service=args.fastapi_service,
        nginx_service=args.nginx_service,
        postgres_service=args.postgres_service,
        stack_env={key: os.environ[key] for key in ("STACK_NAME", "HTTP_PORT") if key in os.environ},
    )
    out = (args.out or run_folder(RESULTS_DIR)).resolve()
    invocation = args.invocation or shlex.join([sys.executable, "-m", "scripts.bench.run", *(argv or sys.argv[1:])])
    return Bench(stack=stack, plan=plan, out=out, invocation=invocation).run()


if __name__ == "__main__":
    sys.exit(main())
