"""Measurements of `make bench`: parsing wrk's and pgbench's output, medians, summary.md and the index.

Pure functions over text and :class:`Point` lists, so the summary can be rebuilt from a run's results.json
(``python -m scripts.bench.run summarize FOLDER``) and the parsing is tested without a stack.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SEARCHES = ("django", "fastapi")
CEILINGS = ("nginx", "django-healthz", "fastapi-healthz", "pgbench")
# "long-tail": the cache on, with the long-tail workload (tens of thousands of bodies, a flat skew).
CACHE_MODES = ("bypass", "on", "long-tail")
DEFAULT_PROFILE = "task"  # the data profile of runs from before profiles (app/catalog/profiles.py)
LABELS = {
    "django": "Django search",
    "fastapi": "FastAPI search",
    "nginx": "Nginx fixed answer",
    "django-healthz": "Django /healthz",
    "fastapi-healthz": "FastAPI /healthz",
    "pgbench": "pgbench, FastAPI's SQL",
}
CACHE_LABELS = {"bypass": "bypassed", "on": "on", "long-tail": "on, long tail", "-": "-"}
OWN_HEALTHZ = {"django": "django-healthz", "fastapi": "fastapi-healthz"}
WRK_RESULT_PREFIX = "BENCH_RESULT "
# Between these markers summary.md holds the tables that bench-results/README.md repeats for the latest run.
TABLES_BEGIN = "<!-- tables -->"
TABLES_END = "<!-- /tables -->"


@dataclass
class Point:
    """One measured point: one target at one connection count, one run."""

    size: int
    target: str  # one of SEARCHES or CEILINGS
    cache: str  # "bypass" or "on" for searches, "-" for ceilings
    connections: int  # asked for
    run: int
    clients: int = 0  # actually used (pgbench is capped by max_connections)
    ok_rps: float = 0.0  # 2xx answers (pgbench: transactions) per second
    rps: float = 0.0  # every answer per second
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    errors: int = 0  # non-2xx answers + socket errors (pgbench: failed transactions)
    statuses: dict[str, int] = field(default_factory=dict)
    socket_errors: dict[str, int] = field(default_factory=dict)
    x_cache: dict[str, int] = field(default_factory=dict)
    cpu_busy: list[float] = field(default_factory=list)  # % per core over the point
    seconds: float = 0.0
    raw: str = ""  # path of the raw output, relative to the run folder
    command: str = ""
    failed: str = ""  # why there is no measurement; empty when there is one
    profile: str = DEFAULT_PROFILE  # the data profile the catalog was seeded with
    workload_seed: int = 0  # the workload seed of this run's bodies (0: not recorded)
    # CPU milliseconds per answer of each Swarm service on this machine over the point (service_cpu.py)
    service_cpu_ms: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Point:
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Measured:
    """What one wrk or pgbench run gave, before it is put on a :class:`Point`."""

    ok_rps: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    requests: int
    errors: int
    statuses: dict[str, int]
    socket_errors: dict[str, int]
    x_cache: dict[str, int]


def wrk_parse(output: str) -> Measured:
    """The BENCH_RESULT line that scripts/bench/wrk.lua's done() prints."""
    for line in output.splitlines():
        if line.startswith(WRK_RESULT_PREFIX):
            data = json.loads(line[len(WRK_RESULT_PREFIX) :])
            break
    else:
        raise ValueError("no BENCH_RESULT line in the wrk output")
    seconds = data["duration_us"] / 1e6
    statuses = {str(code): int(count) for code, count in data["statuses"].items()}
    socket_errors = {name: int(count) for name, count in data["socket_errors"].items()}
    ok = sum(count for code, count in statuses.items() if code.startswith("2"))
    answered = sum(statuses.values())
    latency = data["latency_us"]
    return Measured(
        ok_rps=ok / seconds if seconds else 0.0,
        rps=data["requests"] / seconds if seconds else 0.0,
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        requests=int(data["requests"]),
        errors=(answered - ok) + sum(socket_errors.values()),
        statuses=statuses,
        socket_errors=socket_errors,
        x_cache={str(key): int(count) for key, count in data["x_cache"].items()},
    )


def percentile(values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile of ``values`` (as wrk reports its own)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def pgbench_log_latencies_us(log: str) -> list[float]:
    """Transaction latencies from pgbench's per-transaction log (-l): the third field, in microseconds.

    A failed transaction is logged with "failed" (or "skipped") in place of the latency and is left out.
    """
    latencies = []
    for line in log.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2].isdigit():
            latencies.append(float(fields[2]))
    return latencies


_PGBENCH_PROCESSED = re.compile(r"number of transactions actually processed: (\d+)")
_PGBENCH_FAILED = re.compile(r"number of failed transactions: (\d+)")
_PGBENCH_TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")


def pgbench_parse(output: str, latencies_us: Sequence[float]) -> Measured:
    """pgbench's report (its tps excludes connection set-up) and percentiles from its per-transaction log."""
    processed = _PGBENCH_PROCESSED.search(output)
    tps = _PGBENCH_TPS.search(output)
    if processed is None or tps is None:
        raise ValueError("no transaction count or tps in the pgbench output")
    failed_match = _PGBENCH_FAILED.search(output)
    failed = int(failed_match.group(1)) if failed_match else 0
    done = int(processed.group(1))
    rate = float(tps.group(1))
    return Measured(
        ok_rps=rate,
        rps=rate * (done + failed) / done if done else 0.0,
        p50_ms=percentile(latencies_us, 50) / 1000,
        p90_ms=percentile(latencies_us, 90) / 1000,
        p99_ms=percentile(latencies_us, 99) / 1000,
        requests=done + failed,
        errors=failed,
        statuses={},
        socket_errors={},
        x_cache={},
    )


# /proc/stat, per core: (busy, total) jiffies.
CpuSample = list[tuple[int, int]]


def cpu_sample_parse(proc_stat: str) -> CpuSample:
    sample = []
    for line in proc_stat.splitlines():
        name, *values = line.split()
        if name.startswith("cpu") and name != "cpu":
            numbers = [int(value) for value in values[:8]]  # user nice system idle iowait irq softirq steal
            idle = numbers[3] + numbers[4]
            sample.append((sum(numbers) - idle, sum(numbers)))
    return sample


def cpu_busy_percent(before: CpuSample, after: CpuSample) -> list[float]:
    """Per core, the share of the interval spent busy (anything but idle and I/O wait)."""
    busy = []
    for (busy0, total0), (busy1, total1) in zip(before, after, strict=True):
        elapsed = total1 - total0
        busy.append(round(100 * (busy1 - busy0) / elapsed, 1) if elapsed > 0 else 0.0)
    return busy


# Medians.


@dataclass(frozen=True)
class Median:
    """The runs of one (size, target, cache, connections), summarised."""

    runs: int
    clients: int
    ok_rps: float
    p99_ms: float
    error_share: float  # errors / requests over all runs
    cpu_busy: list[float]
    x_cache_hit_share: float | None  # share of answers with X-Cache: HIT, None when no answer carried X-Cache
    min_rps: float = 0.0
    max_rps: float = 0.0
    each_run: tuple[Point, ...] = ()  # the runs, in run order
    service_cpu_ms: dict[str, float] = field(default_factory=dict)  # per service, median of the runs that have it


def hit_share(point: Point) -> float | None:
    """The share of a point's answers whose X-Cache said HIT; None when no answer carried X-Cache."""
    answers = sum(point.x_cache.values())
    hits = sum(count for value, count in point.x_cache.items() if value.upper() == "HIT")
    return hits / answers if answers else None


def _key(point: Point) -> tuple[int, str, str, int]:
    return (point.size, point.target, point.cache, point.connections)


def medians(points: Iterable[Point], profile: str = DEFAULT_PROFILE) -> dict[tuple[int, str, str, int], Median]:
    """The runs of each (size, target, cache, connections) of one data profile, summarised."""
    groups: dict[tuple[int, str, str, int], list[Point]] = {}
    for point in points:
        if not point.failed and point.profile == profile:
            groups.setdefault(_key(point), []).append(point)
    result = {}
    for key, group in groups.items():
        group.sort(key=lambda point: point.run)
        requests = sum(point.requests for point in group)
        cores = max(len(point.cpu_busy) for point in group)
        cache_answers = sum(sum(point.x_cache.values()) for point in group)
        hits = sum(count for point in group for value, count in point.x_cache.items() if value.upper() == "HIT")
        result[key] = Median(
            runs=len(group),
            clients=min(point.clients for point in group),
            ok_rps=statistics.median(point.ok_rps for point in group),
            p99_ms=statistics.median(point.p99_ms for point in group),
            error_share=sum(point.errors for point in group) / requests if requests else 0.0,
            cpu_busy=[
                statistics.median(point.cpu_busy[core] for point in group if len(point.cpu_busy) > core)
                for core in range(cores)
            ],
            x_cache_hit_share=hits / cache_answers if cache_answers else None,
            min_rps=min(point.ok_rps for point in group),
            max_rps=max(point.ok_rps for point in group),
            each_run=tuple(group),
            service_cpu_ms={
                name: statistics.median(point.service_cpu_ms[name] for point in group if name in point.service_cpu_ms)
                for name in sorted({name for point in group for name in point.service_cpu_ms})
            },
        )
    return result


def paired_ratios(
    points: Iterable[Point], size: int, cache: str, connections: int, profile: str = DEFAULT_PROFILE
) -> tuple[float, float] | None:
    """Median over runs of Django / FastAPI (rps, p99), each pair measured back to back in the same round."""
    by_run: dict[int, dict[str, Point]] = {}
    for point in points:
        here = (point.profile, point.size, point.cache, point.connections) == (profile, size, cache, connections)
        if here and not point.failed:
            by_run.setdefault(point.run, {})[point.target] = point
    rps_ratios, p99_ratios = [], []
    for pair in by_run.values():
        django, fastapi = pair.get("django"), pair.get("fastapi")
        if django and fastapi and fastapi.ok_rps > 0 and fastapi.p99_ms > 0:
            rps_ratios.append(django.ok_rps / fastapi.ok_rps)
            p99_ratios.append(django.p99_ms / fastapi.p99_ms)
    if not rps_ratios:
        return None
    return statistics.median(rps_ratios), statistics.median(p99_ratios)


# Formatting.


def number(value: float) -> str:
    """A figure with about three significant digits and thin grouping: 37 200, 812, 45.1, 0.84."""
    if value >= 1000:
        return f"{round(value, 2 - math.floor(math.log10(value))):,.0f}".replace(",", " ")
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def share(value: float) -> str:
    """A fraction as a percentage with about two significant digits: 64 %, 7.5 %, 0.83 %."""
    percent = value * 100
    if percent >= 10:
        return f"{percent:.0f} %"
    if percent >= 1:
        return f"{percent:.1f} %"
    return f"{percent:.2f} %"


def fraction(numerator: Median | None, denominator: Median | None) -> str:
    if numerator is None or denominator is None or denominator.ok_rps <= 0:
        return "-"
    return share(numerator.ok_rps / denominator.ok_rps)


def cpu_text(median: Median) -> str:
    return " / ".join(f"{value:.0f}" for value in median.cpu_busy) or "-"


def errors_text(median: Median) -> str:
    return "0" if median.error_share == 0 else share(median.error_share)


def connections_text(median: Median, connections: int) -> str:
    if median.clients and median.clients != connections:
        return f"{connections} ({median.clients} used)"
    return str(connections)


# Beside the "of Nginx fixed" figures: what that ceiling is (bench-results/README.md, "What the figures rest on").
NGINX_FIXED_CAVEAT = (
    "Nginx's fixed answer mostly measures wrk: wrk and Nginx share the same two cores, so that ceiling is what "
    'the load generator can send here, not what Nginx could serve; read the "of Nginx fixed" column as a '
    "rough scale, not as Nginx's headroom."
)


def run_cell(point: Point) -> str:
    """One run's figures: rps, p99 and, for a search with the cache on, the X-Cache hit share beside them."""
    text = f"{number(point.ok_rps)} rps, p99 {number(point.p99_ms)}"
    hits = hit_share(point)
    if point.cache in ("on", "long-tail") and hits is not None:
        text += f", HIT {share(hits)}"
    return text


def run_seeds(points: Iterable[Point], profile: str, size: int) -> dict[int, int]:
    """Run number -> the workload seed its bodies came from (0 when the run did not record one)."""
    seeds: dict[int, int] = {}
    for point in points:
        if (point.profile, point.size) == (profile, size):
            seeds.setdefault(point.run, point.workload_seed)
    return dict(sorted(seeds.items()))


# Services whose CPU per answer is shown in a column of its own when some row reaches this; the rest are summed.
SERVICE_CPU_SHOWN_MS = 0.05


def service_cpu_table(
    table: dict[tuple[int, str, str, int], Median], size: int, connection_counts: Sequence[int]
) -> list[str]:
    """Who the CPU went to: each service's CPU milliseconds per answer (medians of the runs), per search and
    ceiling; [] when the run has no such figures (service_cpu.py)."""
    rows: list[tuple[str, Median]] = []
    for target in (*SEARCHES, *CEILINGS):
        for cache in (*CACHE_MODES, "-"):
            for connections in connection_counts:
                median = table.get((size, target, cache, connections))
                if median is not None and median.service_cpu_ms:
                    label = LABELS[target] if cache == "-" else f"{LABELS[target]}, {CACHE_LABELS[cache]}"
                    rows.append((f"{label}, {connections}", median))
    if not rows:
        return []
    shown = sorted(
        {name for _label, median in rows for name, ms in median.service_cpu_ms.items() if ms >= SERVICE_CPU_SHOWN_MS},
        key=lambda name: (name != "postgres", "nginx" in name, name),
    )
    lines = [
        "",
        "CPU per answer by service, ms (each service's containers on this machine, from their cgroups; medians of the "
        "runs; wrk not included):",
        "",
        "| target, connections | " + " | ".join(shown) + " | others | all |",
        "| --- |" + " --- |" * (len(shown) + 2),
    ]
    for label, median in rows:
        cells = [f"{median.service_cpu_ms.get(name, 0.0):.2f}" for name in shown]
        others = sum(ms for name, ms in median.service_cpu_ms.items() if name not in shown)
        total = sum(median.service_cpu_ms.values())
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {others:.2f} | {total:.2f} |")
    return lines


def every_run_table(
    here: Sequence[Point],
    table: dict[tuple[int, str, str, int], Median],
    profile: str,
    size: int,
    connection_counts: Sequence[int],
) -> list[str]:
    """Each run's figure of every target, one column per run (and its workload seed); nothing without runs."""
    seeds = run_seeds(here, profile, size)
    if not seeds:
        return []
    headers = [f"run {run}" + (f" (workload seed {seed})" if seed else "") for run, seed in seeds.items()]
    lines = [
        "",
        "Every run (rps, p99 ms; with the cache on, the share of X-Cache HIT answers of that run):",
        "",
        "| target | cache | connections | " + " | ".join(headers) + " |",
        "| --- | --- | --- | " + " | ".join("---" for _ in headers) + " |",
    ]
    rows = [(target, cache) for target in SEARCHES for cache in CACHE_MODES] + [(target, "-") for target in CEILINGS]
    for target, cache in rows:
        for connections in connection_counts:
            median = table.get((size, target, cache, connections))
            if median is None:
                continue
            by_run = {point.run: run_cell(point) for point in median.each_run}
            cells = [by_run.get(run, "-") for run in seeds]
            lines.append(f"| {LABELS[target]} | {CACHE_LABELS[cache]} | {connections} | " + " | ".join(cells) + " |")
    return lines


def section_heading(size: int, profile: str, visible: int | None) -> str:
    heading = f"### {size:,} parts".replace(",", " ")
    if profile != DEFAULT_PROFILE:
        heading += f", {profile} profile"
    if visible is not None:
        heading += f" ({visible:,} visible)".replace(",", " ")
    return heading


def size_tables(
    points: Sequence[Point], size: int, *, visible: int | None, plot: str | None, profile: str = DEFAULT_PROFILE
) -> str:
    """The Markdown tables of one data size of one data profile."""
    table = medians(points, profile)
    here = [point for point in points if (point.profile, point.size) == (profile, size)]
    connection_counts = sorted({point.connections for point in here})
    lines = [
        section_heading(size, profile, visible),
        "",
        "| search | cache | connections | rps | rps min-max | p99 ms | errors | of its /healthz | of Nginx fixed "
        "(wrk-bound) | of pgbench | X-Cache HIT | CPU % per core |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for target in SEARCHES:
        for cache in CACHE_MODES:
            for connections in connection_counts:
                median = table.get((size, target, cache, connections))
                if median is None:
                    continue
                healthz = table.get((size, OWN_HEALTHZ[target], "-", connections))
                nginx = table.get((size, "nginx", "-", connections))
                pgbench = table.get((size, "pgbench", "-", connections))
                hits = "-" if median.x_cache_hit_share is None else share(median.x_cache_hit_share)
                lines.append(
                    f"| {LABELS[target]} | {CACHE_LABELS[cache]} | {connections} | {number(median.ok_rps)} "
                    f"| {number(median.min_rps)}-{number(median.max_rps)} "
                    f"| {number(median.p99_ms)} | {errors_text(median)} | {fraction(median, healthz)} "
                    f"| {fraction(median, nginx)} | {fraction(median, pgbench)} | {hits} | {cpu_text(median)} |"
                )
    lines += ["", f"_{NGINX_FIXED_CAVEAT}_"]
    lines += [
        "",
        "Django / FastAPI, each pair measured back to back (median of the runs' ratios):",
        "",
        "| cache | connections | rps ratio | p99 ratio |",
        "| --- | --- | --- | --- |",
    ]
    for cache in CACHE_MODES:
        for connections in connection_counts:
            ratios = paired_ratios(points, size, cache, connections, profile)
            if ratios is not None:
                lines.append(f"| {CACHE_LABELS[cache]} | {connections} | {ratios[0]:.2f} | {ratios[1]:.2f} |")
    lines += [
        "",
        "Ceilings, same run:",
        "",
        "| ceiling | connections | rps | rps min-max | p99 ms | errors | CPU % per core |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for target in CEILINGS:
        for connections in connection_counts:
            median = table.get((size, target, "-", connections))
            if median is None:
                continue
            lines.append(
                f"| {LABELS[target]} | {connections_text(median, connections)} | {number(median.ok_rps)} "
                f"| {number(median.min_rps)}-{number(median.max_rps)} "
                f"| {number(median.p99_ms)} | {errors_text(median)} | {cpu_text(median)} |"
            )
    lines += ["", f"_{NGINX_FIXED_CAVEAT}_"]
    lines += service_cpu_table(table, size, connection_counts)
    lines += every_run_table(here, table, profile, size, connection_counts)
    if plot:
        lines += ["", f"![throughput and p99 against connections, {size} parts]({plot})"]
    return "\n".join(lines) + "\n"


def summary_markdown(
    points: Sequence[Point],
    *,
    title: str,
    preamble: str,
    sizes: Sequence[int],
    visible: dict[tuple[str, int], int],
    plots: dict[tuple[str, int], str],
    notes: Sequence[str],
    decision: str | None = None,
    profiles: Sequence[str] = (DEFAULT_PROFILE,),
) -> str:
    """summary.md: the tables of each data profile and size (``visible`` and ``plots`` keyed by both)."""
    failed = [point for point in points if point.failed]
    parts = [f"# {title}", "", preamble.strip(), ""]
    if decision:
        parts += [f"![{DECISION_ALT}]({decision})", ""]
    parts += [TABLES_BEGIN, ""]
    for profile in profiles:
        for size in sizes:
            section = (profile, size)
            if any((point.profile, point.size) == section for point in points):
                parts.append(
                    size_tables(points, size, visible=visible.get(section), plot=plots.get(section), profile=profile)
                )
    parts += [TABLES_END, "", "## Notes", ""]
    parts += [f"- {note}" for note in notes]
    if failed:
        parts += ["", "## Points without a measurement", ""]
        parts += [f"- `{point.raw}`: {point.failed}" for point in failed]
    return "\n".join(parts) + "\n"


# The decision chart (plots.py's plot_decision): each search, cache bypassed and on, beside its service's
# /healthz at one connection count, every data size.
DECISION_CONNECTIONS = 32
DECISION_CACHE_MODES = ("bypass", "on")
# Its file in a run folder; the index shows the latest run's at its top.
DECISION_PLOT = "decision.png"
DECISION_ALT = "each search's throughput at 32 connections beside its /healthz, cache bypassed and on, per data size"


@dataclass(frozen=True)
class DecisionBar:
    """One bar of the decision chart: a search (cache bypassed or on) or a service's /healthz."""

    size: int
    service: str  # one of SEARCHES
    target: str  # the search itself, or its OWN_HEALTHZ
    cache: str  # "bypass" or "on" for the search, "-" for /healthz
    ok_rps: float  # median of the runs
    runs: int
    healthz_share: float | None  # ok_rps over its /healthz's at the same connection count; None for /healthz
    profile: str = DEFAULT_PROFILE


def decision_connections(points: Iterable[Point], wanted: int = DECISION_CONNECTIONS) -> int | None:
    """`wanted` when a search was measured there, else the measured connection count nearest to it."""
    counts = {point.connections for point in points if point.target in SEARCHES and not point.failed}
    if not counts:
        return None
    return min(counts, key=lambda count: (abs(count - wanted), count))


def decision_bars(
    points: Sequence[Point], sizes: Sequence[int], connections: int, profiles: Sequence[str] = (DEFAULT_PROFILE,)
) -> list[DecisionBar]:
    """Per data profile, data size and service: the search with the cache bypassed, with it on (the usual
    workload), then the service's /healthz; a bar that was not measured is left out."""
    bars = []
    for profile in profiles:
        table = medians(points, profile)
        for size in sizes:
            for service in SEARCHES:
                healthz = table.get((size, OWN_HEALTHZ[service], "-", connections))
                for target, cache in [(service, mode) for mode in DECISION_CACHE_MODES] + [(OWN_HEALTHZ[service], "-")]:
                    median = table.get((size, target, cache, connections))
                    if median is None:
                        continue
                    share_of_healthz = None
                    if target == service and healthz is not None and healthz.ok_rps > 0:
                        share_of_healthz = median.ok_rps / healthz.ok_rps
                    bars.append(
                        DecisionBar(size, service, target, cache, median.ok_rps, median.runs, share_of_healthz, profile)
                    )
    return bars


def load_points(results_json: Path) -> tuple[dict[str, Any], list[Point]]:
    data = json.loads(results_json.read_text(encoding="utf-8"))
    return data["meta"], [Point.from_dict(item) for item in data["points"]]


def size_key(profile: str, size: int) -> str:
    """results.json's key of a data size of a profile: "10000" for the task profile (as before profiles)."""
    return str(size) if profile == DEFAULT_PROFILE else f"{profile}/{size}"


# The index, bench-results/README.md.

RUN_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}-[0-9a-f]{7,40}(-dirty)?(-\d+)?$")


def _first_heading(path: Path) -> str:
    if path.is_dir():
        path = path / "README.md"
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip()
    return ""


def _run_tables(summary: str, folder: str) -> str:
    """The tables of a summary.md, with its relative links made relative to bench-results/."""
    if TABLES_BEGIN not in summary or TABLES_END not in summary:
        return ""
    tables = summary.split(TABLES_BEGIN, 1)[1].split(TABLES_END, 1)[0].strip()
    return re.sub(r"\]\((?!https?://|/)([^)]+)\)", rf"]({folder}/\1)", tables)


# Said in the index, beside every run: what the recorded figures can and cannot carry.
CAVEATS = (
    "Runs up to 2026-11-25-57449f4 used one workload seed whose top body was 10 % of the requests and whose "
    "price bounds were multiples of 500, and their summaries quote medians only (results.json holds every run). "
    "Their cached figures, at a 96-97 % X-Cache hit rate, mostly measure Redis; one of a point's three runs could "
    "cross the cache's TTL at half the throughput without moving the median. Later runs use several workload "
    "seeds, any price bounds, a 2 % cap on any body, a 50 000-body long tail with the cache on, and list every "
    "run with its hit rate.",
    "Two claims in docs/benchmark.md rest on comparisons across runs, not on an A/B in one run: that parallel "
    'plans "cost Django a third" of its throughput at 1M parts (2026-11-25-6934a64 against 2026-11-25-57449f4), '
    'and the "21-30 rps before the totals" table. Each needs a same-run A/B before it is quoted as a gain.',
    "The plans in explain-1m/ were captured with parallel workers on, before the stack turned them off: they are "
    "not the plans the runs measured. scripts/explain_plans.py now prints the server's settings above the plans "
    "and refuses to capture when they differ from the stack's; `make explain` captures them again.",
    "The Nginx fixed-answer ceiling mostly measures wrk: wrk and Nginx share the same two cores, so it is the load "
    "generator's limit, not Nginx's headroom.",
)


# How many of the newest runs keep raw/ in the tree (prune_raw, and what the index says).
RAW_KEPT = 2


def _run_started(run: Path) -> str:
    """When a run started, as its results.json records it (its folder name without one)."""
    meta_file = run / "results.json"
    if meta_file.is_file():
        return str(json.loads(meta_file.read_text(encoding="utf-8"))["meta"].get("started", run.name))
    return run.name


def run_folders(results_dir: Path) -> list[Path]:
    """The `make bench` run folders, oldest first (by their start, as results.json records it)."""

    runs = [
        entry
        for entry in results_dir.iterdir()
        if entry.is_dir() and RUN_FOLDER.match(entry.name) and (entry / "summary.md").is_file()
    ]
    return sorted(runs, key=_run_started)


def prune_raw(results_dir: Path, keep: int = RAW_KEPT) -> list[Path]:
    """Removes raw/ from every run but the ``keep`` newest; returns the folders removed."""
    runs = run_folders(results_dir)
    pruned = [run / "raw" for run in runs[: max(len(runs) - keep, 0)] if (run / "raw").is_dir()]
    for raw in pruned:
        shutil.rmtree(raw)
    return pruned


def index_markdown(results_dir: Path) -> str:
    """bench-results/README.md: every `make bench` run, the other results, and the latest run's tables."""
    runs = run_folders(results_dir)
    others = [
        entry
        for entry in sorted(results_dir.iterdir())
        if not entry.name.startswith(".") and entry.name != "README.md" and entry not in runs
    ]

    lines = [
        "# Benchmark results",
        "",
        '`make bench` (README, "Benchmark") writes one folder per run here and rewrites this index. Each run',
        "folder holds `summary.md` (tables and plots), `env.md` (hardware, stack, data, commands, commit),",
        "`results.json` (every point) and `raw/` (the output of every wrk and pgbench run).",
        "",
        f"`raw/` stays in the tree for the {RAW_KEPT} newest runs, the ones README.md and docs/benchmark.md quote;",
        "an older run keeps its summary, environment and every point, and its raw output is in git history",
        "(`python -m scripts.bench.run prune` removes it; the runs table says which runs still have it).",
        "",
    ]
    if runs and (runs[-1] / DECISION_PLOT).is_file():
        newest = runs[-1].name
        lines += [
            f"Which search serves more, and how close each comes to its own service's `/healthz`: the latest run "
            f"([{newest}]({newest}/summary.md)), at {DECISION_CONNECTIONS} connections, on a linear scale. The "
            "tables and the log-scale plots per data size follow below.",
            "",
            f"![{DECISION_ALT}]({newest}/{DECISION_PLOT})",
            "",
        ]
    lines += ["## Runs", ""]
    if runs:
        lines += [
            "| run | started | data sizes | summary | environment | raw output |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for run in reversed(runs):
            sizes = "-"
            meta_file = run / "results.json"
            if meta_file.is_file():
                meta = json.loads(meta_file.read_text(encoding="utf-8"))["meta"]
                sizes = ", ".join(f"{size:,}".replace(",", " ") for size in meta.get("parts", []))
            raw = f"[raw/]({run.name}/raw/)" if (run / "raw").is_dir() else "in git history"
            lines.append(
                f"| {run.name} | {_run_started(run)} | {sizes} | [summary.md]({run.name}/summary.md) "
                f"| [env.md]({run.name}/env.md) | {raw} |"
            )
    else:
        lines.append("No `make bench` run is recorded yet.")
    lines += ["", "## Other results", ""]
    for entry in others:
        name = entry.name + ("/" if entry.is_dir() else "")
        heading = _first_heading(entry)
        lines.append(f"- [{name}]({name})" + (f": {heading}" if heading else ""))
    lines += ["", "## What the figures rest on", ""]
    lines += [f"- {caveat}" for caveat in CAVEATS]
    if runs:
        latest = runs[-1]
        tables = _run_tables((latest / "summary.md").read_text(encoding="utf-8"), latest.name)
        if tables:
            lines += ["", f"## Latest run: {latest.name}", "", tables]
    return "\n".join(lines) + "\n"
