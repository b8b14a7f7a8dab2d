"""The files of a run folder, written from its results.json alone (``python -m scripts.bench.run summarize``):
summary.md (its tables from results.py), env.md, the plots (plots.py); then the index, bench-results/README.md."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from scripts.bench.commands import ROOT, duration_text, log
from scripts.bench.measure import STATEMENT_TIMEOUT_MS
from scripts.bench.results import (
    DECISION_PLOT,
    DEFAULT_PROFILE,
    NGINX_FIXED_CAVEAT,
    SEARCHES,
    Point,
    index_markdown,
    load_points,
    size_key,
    summary_markdown,
)
from scripts.bench.stack import FIXED_PATH, seed_shown
from scripts.bench.workload import LONG_TAIL_EXPONENT, MAX_BODY_SHARE, ZIPF_EXPONENT

RESULTS_DIR = ROOT / "bench-results"


def _example(points: Sequence[Point], test: Callable[[Point], bool]) -> str:
    for point in points:
        if test(point) and point.command:
            return point.command
    return "-"


def env_markdown(meta: dict[str, Any], points: Sequence[Point]) -> str:
    host, gitinfo, plan = meta["host"], meta["git"], meta["plan"]
    sizes = meta.get("sizes", {})
    lines = [
        "# Environment of this run",
        "",
        f"- Started {meta['started']}, finished {meta.get('finished', '?')} "
        f"({duration_text(meta.get('elapsed_seconds', 0))}).",
        f"- Commit `{gitinfo['commit']}` on `{gitinfo['branch']}`: {gitinfo['subject']}"
        + (f" (uncommitted changes: {gitinfo['dirty']})" if gitinfo["dirty"] else " (clean work tree)"),
        f"- Command: `{meta['invocation']}`",
        "",
        "## Hardware and tools",
        "",
        f"- CPU: {host['cpu']}, {host['cores']} cores; RAM {host['memory']}; {host['kernel']}",
        f"- Docker Engine {host['docker']}; {host['wrk']}; {meta.get('pgbench', '?')} (inside the postgres task); "
        f"runner Python {host['python']}",
        f"- PostgreSQL: {meta.get('postgres', '?')}",
        "- Load generator, stack and database share the same cores: compare within this run, not across machines.",
        "",
        "## Stack, read from the live services",
        "",
        "| service | image | replicas (running) | worker processes per task | settings |",
        "| --- | --- | --- | --- | --- |",
    ]
    for fact in meta.get("stack", []):
        lines.append(
            f"| {fact['service']} | `{fact['image']}` | {fact['replicas']} ({fact['running']}) | {fact['workers']} "
            f"| {fact['settings']} |"
        )
    profiles = meta.get("profiles", [DEFAULT_PROFILE])
    seeds = plan.get("workload_seeds", [plan.get("workload_seed", 1)])
    lines += ["", "## Data", ""]
    for profile in profiles:
        for size in meta["parts"]:
            info = sizes.get(size_key(profile, size))
            command = seed_shown(parts=size, seed=plan["data_seed"], profile=profile)
            if info:
                lines.append(
                    f"- {size} parts, {profile} profile, seed {plan['data_seed']} (`{command}`, then "
                    f"`VACUUM (FULL, ANALYZE)` and `VACUUM` as the owner): {info['visible']} visible; "
                    f"seeded in {info['seed_seconds']} s"
                )
            else:
                lines.append(f"- {size} parts, {profile} profile: not reached")
    lines += ["", "## Workload", ""]
    workloads = meta.get("workloads") or {DEFAULT_PROFILE: {str(seeds[0]): meta.get("workload", {})}}
    if "workloads" not in meta:  # a run from before workload seeds and profiles: its own commit's workload
        lines.append(f"- One workload seed ({seeds[0]}), from `scripts/bench/workload.py` at the run's commit.")
    else:
        lines.append(
            f"- Workload seeds {', '.join(str(seed) for seed in seeds)}: round r of every point draws its bodies from "
            "the r-th seed (from the first again when there are more rounds than seeds), so a point's runs differ in "
            "their bodies too, and the summary's min-max of the runs is the spread across seeds. Bodies from "
            "`scripts/bench/workload.py`, the profile's own vocabulary (`app/catalog/profiles.py`); price bounds are "
            f"any integer; no body above {MAX_BODY_SHARE:.0%} of the requests."
        )
    for profile, shapes in workloads.items():
        for name, workload in shapes.items():
            if not workload:
                continue
            by_kind = ", ".join(
                f"{kind} {workload['distinct_by_kind'][kind]} bodies / {workload['traffic_by_kind'][kind]:.0%}"
                for kind in workload["distinct_by_kind"]
            )
            tail = name.endswith("-long-tail")
            exponent = LONG_TAIL_EXPONENT if tail else ZIPF_EXPONENT
            lines.append(
                f"- {profile} profile, seed {name.removesuffix('-long-tail')}{', long tail' if tail else ''}: "
                f"{workload['distinct']} distinct bodies (sha256 `{workload['sha256'][:16]}...`): {by_kind}; Zipf-like "
                f"within each kind (exponent {exponent}): the most popular body is {workload['top1_share']:.1%} of "
                f"requests, the top 10 {workload['top10_share']:.1%}, the top 100 {workload['top100_share']:.1%}."
            )
    lines += [
        "- The bodies files are in `tmp/` (not in git); `python -m scripts.bench.run workload --profile P --seed S "
        "--distinct N [--long-tail] --out DIR` writes one again.",
        "",
        "## Points",
        "",
        f"- Connections {', '.join(str(c) for c in plan['connections'])}; {plan['runs']} run(s) of "
        f"{plan['duration']} s per point; warm-up {plan['warmup']} s per search and data size; wrk with "
        f"{plan['threads']} threads and keep-alive connections, through Nginx at the stack's published port.",
        "- Each round: Django and FastAPI searches alternating, cache bypassed (`Cache-Control: no-cache` with "
        "the edge's operator token), "
        "then cache on, then cache on over the long-tail bodies (when there are long-tail points); then the "
        "ceilings: "
        f"Nginx's fixed answer (`{meta.get('fixed_path', FIXED_PATH)}`), `/healthz` and `/fastapi/healthz`, "
        "and pgbench running the FastAPI SQL (`fastapi_search/queries.py`) with the same bodies and weights.",
        "- pgbench's script for each data size holds, for every body, the statements the running FastAPI task's "
        "own `part_search` sent PostgreSQL for it on that data, with their arguments as literals "
        "(`scripts/bench/recorder.py`, `scripts/bench/pgbench_script.py`), kept as `tmp/pgbench-search-<parts>.sql`.",
        "- pgbench runs inside the postgres task as the apps' role through the socket, simple protocol "
        f"(each statement planned with its values), statement_timeout {STATEMENT_TIMEOUT_MS} ms as in the service; "
        "its clients are capped by what max_connections leaves free.",
        "- CPU per core: from /proc/stat before and after each point (the whole machine).",
        f"- {NGINX_FIXED_CAVEAT}",
        "",
        "## Exact commands",
        "",
        "Every raw file in `raw/` starts with the exact command that made it. One of each kind:",
        "",
        "```",
        _example(points, lambda point: point.target in SEARCHES),
        _example(points, lambda point: point.target == "nginx"),
        _example(points, lambda point: point.target == "pgbench"),
        "```",
    ]
    return "\n".join(lines) + "\n"


def write_reports(out: Path) -> None:
    """summary.md, env.md and the plots of a run folder from its results.json; then the index."""
    meta, points = load_points(out / "results.json")
    profiles = list(meta.get("profiles", [DEFAULT_PROFILE]))
    plots: dict[tuple[str, int], str] = {}
    decision: str | None = None
    try:
        from scripts.bench.plots import (  # noqa: PLC0415 (matplotlib only when there is something to draw)
            plot_decision,
            plot_size,
        )
    except ImportError as error:
        log(f"no plots: {error} (scripts/venv.sh requirements/bench.txt installs matplotlib)")
    else:
        if plot_decision(points, meta["parts"], out / DECISION_PLOT, run=out.name, profiles=profiles):
            decision = DECISION_PLOT
        for profile in profiles:
            for size in meta["parts"]:
                name = f"plot-{size_key(profile, size).replace('/', '-')}.png"
                if plot_size(points, size, out / name, profile=profile):
                    plots[(profile, size)] = name
    visible = {
        (profile, size): info["visible"]
        for profile in profiles
        for size in meta["parts"]
        if (info := meta.get("sizes", {}).get(size_key(profile, size)))
    }
    gitinfo, plan = meta["git"], meta["plan"]
    preamble = (
        f"`make bench` at commit `{gitinfo['short']}`{' (with uncommitted changes)' if gitinfo['dirty'] else ''}, "
        f"started {meta['started']}: medians of {plan['runs']} run(s) of {plan['duration']} s per point, through "
        "Nginx on this machine (load generator included), with the spread of the runs beside each median and "
        "every run's own figure below each size's tables. Hardware, stack sizes, data and exact commands: "
        "[env.md](env.md); every point: [results.json](results.json) and `raw/`."
    )
    fixed = meta.get("fixed_path", FIXED_PATH)
    notes = [
        "rps counts 2xx answers per second (pgbench: transactions, each one search's statements as the FastAPI "
        "task ran them). errors is the share of non-2xx answers (such as the edge's 503 `overloaded` past its "
        "admission limit) and socket errors among all answers.",
        "p99 is wrk's, over every answer, the fast 503s included; pgbench's is from its per-transaction log.",
        '"of its /healthz", "of Nginx fixed" and "of pgbench" divide the search\'s median rps by that '
        "ceiling's median rps at the same connection count, in the same run.",
        "rps min-max is the lowest and highest run of a point; each run draws its bodies from the next workload "
        f"seed ({', '.join(str(seed) for seed in plan.get('workload_seeds', [plan.get('workload_seed', 1)]))}), "
        "so it is also the spread across seeds. A median hides a bad run (a cached point whose run crossed the "
        "cache's TTL, say): the table of every run shows it, with that run's X-Cache hit share.",
        "Cache on, long tail: the cache on over tens of thousands of distinct bodies with a flat skew (env.md), "
        "so that the response cache misses as it would on a real shop's traffic; read its rps with its hit share.",
        NGINX_FIXED_CAVEAT,
        f"Nginx fixed is `{fixed}`."
        if fixed == FIXED_PATH
        else f"Nginx fixed is `{fixed}` (Lua, answered by Nginx alone): the running Nginx predates `{FIXED_PATH}`.",
        "Cache bypassed sends `Cache-Control: no-cache` with the edge's operator token (Nginx passes it from "
        "operators only; the /healthz ceilings are asked as an operator too); X-Cache HIT is the share of "
        "answers whose `X-Cache` "
        'header said HIT ("-" when no answer carried the header).',
        "pgbench's clients are capped by PostgreSQL's max_connections (\"N used\"); the apps themselves never "
        "run more than their database slots at once.",
    ]
    sizes = list(meta["parts"])
    summary = summary_markdown(
        points,
        title=f"Benchmark {out.name}",
        preamble=preamble,
        sizes=sizes,
        visible=visible,
        plots=plots,
        notes=notes,
        decision=decision,
        profiles=profiles,
    )
    (out / "summary.md").write_text(summary, encoding="utf-8")
    (out / "env.md").write_text(env_markdown(meta, points), encoding="utf-8")
    write_index(out.parent)


def write_index(results_dir: Path = RESULTS_DIR) -> None:
    (results_dir / "README.md").write_text(index_markdown(results_dir), encoding="utf-8")
