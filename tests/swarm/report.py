"""The zero-downtime report: each Swarm scenario's load, before and during its change, as Markdown, and each
scenario's timeline as a PNG beside it (timeline.py), linked from its row.

The Swarm suite records every scenario it runs; with ZERO_DOWNTIME_REPORT set (scripts/zero-downtime-report.sh
sets it to bench-results/zero-downtime.md) the session writes the table there at its end, and the timelines into
the folder of the same name (bench-results/zero-downtime/). Only then is anything drawn.
"""

from __future__ import annotations

import datetime
import math
import os
import platform
import re
import subprocess
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scripts.control_plane.settings import settings_load
from tests.swarm.loadgen import (
    KEEPALIVE,
    NEW_CONNECTION,
    OUTAGE_MS,
    REFUSED,
    RESET,
    ConnectionProber,
    LoadGenerator,
    Window,
)


@dataclass(frozen=True)
class Scenario:
    name: str
    before: Window
    during: Window
    zero_required: bool
    note: str = ""
    # What the connection prober (a new TCP connection every 5 ms) saw, when the scenario ran one.
    prober: ConnectionProber | None = None
    # The whole load (its settling after the change too), its marks and its clock's offset to the wall clock:
    # what the timeline is drawn from.
    run: Window | None = None
    marks: Mapping[str, float] = field(default_factory=dict)
    epoch_offset: float = 0.0


def scenario_of(
    name: str,
    load: LoadGenerator,
    *,
    zero_required: bool = True,
    note: str = "",
    prober: ConnectionProber | None = None,
) -> Scenario:
    return Scenario(
        name=name,
        before=load.window("before", "start", "change"),
        during=load.window("during", "change", "changed"),
        zero_required=zero_required,
        note=note,
        prober=prober,
        run=load.window("whole load", "start", "end"),
        marks=dict(load.marks),
        epoch_offset=load.epoch_offset,
    )


def _prober_cell(prober: ConnectionProber | None) -> str:
    """Connections the prober opened, and how many were refused or reset (its other failures follow)."""
    if prober is None:
        return "-"
    total = sum(prober.counts.values())
    others = total - prober.counts["ok"] - prober.counts[REFUSED] - prober.counts[RESET]
    return f"{total} / {prober.counts[REFUSED]} / {prober.counts[RESET]}" + (f" (+{others} other)" if others else "")


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"


def _kind_cell(window: Window, kind: str) -> str:
    outcomes = window.by_kind(kind)
    return f"{len(outcomes)} / {sum(1 for outcome in outcomes if outcome.failed)}"


def report_markdown(scenarios: list[Scenario], repo_root: Path, *, timelines: Sequence[str | None] = ()) -> str:
    commit, today = _commit(repo_root), _today()
    lines = [
        "# Zero-downtime report",
        "",
        f"Written by the Swarm suite's zero-downtime scenarios (`scripts/zero-downtime-report.sh`, or `make test` "
        f"with `ZERO_DOWNTIME_REPORT` set) on {today}, commit `{commit or 'unknown'}`, "
        f"{platform.node()} ({platform.machine()}), single-node Swarm. Each row is one Swarm-suite scenario.",
        "",
        "Load during every change: 8 clients through Nginx, 4 reusing one keep-alive connection and 4 opening a "
        "new connection per request, cycling `GET /mark/`, `POST /search/part/`, `POST /fastapi/search/part/`, "
        "`GET /model/` and a `POST /mark/` that Nginx never retries (expects 405). Nobody retries; a connection "
        "closed without a response counts as a failure. *Largest gap* is the longest time in which no request "
        f"started (a stall: every client waiting on an answer); *{OUTAGE_MS} ms outage seen* is the share of "
        f"moments at which an outage of {OUTAGE_MS} ms would have met a request in flight or starting (each "
        "scenario requires at least 99%). *Prober*: in the edge's scenarios, one more client opens a new TCP "
        "connection every 5 ms for the whole run and sends `GET /bench/fixed` on it: connections opened / "
        "refused / reset (any other failure is named).",
        "",
        *([TIMELINES_TEXT, ""] if any(timelines) else []),
    ]
    return "\n".join(lines + _table(scenarios, notes_heading="## Notes", timelines=timelines)) + "\n"


def cluster_section_markdown(
    scenarios: list[Scenario], repo_root: Path, *, timelines: Sequence[str | None] = ()
) -> str:
    """The cluster suite's scenarios as a section of the same report, with the same columns."""
    lines = [
        "## Cluster: three nodes, images from a registry",
        "",
        f"Written by the cluster suite (`tests/cluster/`, `scripts/zero-downtime-report.sh`) on {_today()}, "
        f"commit `{_commit(repo_root) or 'unknown'}`: three Docker-in-Docker nodes on this one machine "
        "(`scripts/cluster.sh`), the same load spread over the two edge nodes' ports, client N through edge N "
        "modulo 2. The probers, one per edge node, each open a new connection every 5 ms.",
        "",
    ]
    return "\n".join(lines + _table(scenarios, notes_heading="### Cluster notes", timelines=timelines)) + "\n"


def _commit(repo_root: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=repo_root, capture_output=True, text=True, check=False
    ).stdout.strip()


def _today() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _table(scenarios: list[Scenario], *, notes_heading: str, timelines: Sequence[str | None] = ()) -> list[str]:
    lines = [
        "| scenario | change took | keep-alive sent / failed | new-connection sent / failed | rate | largest gap "
        f"| {OUTAGE_MS} ms outage seen | p50 / p99 before (ms) | p50 / p99 during (ms) | prober | must be zero |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for index, scenario in enumerate(scenarios):
        during, before = scenario.during, scenario.before
        seen = during.outage_detection_share()
        timeline = timelines[index] if index < len(timelines) else None
        name = f"[{scenario.name}]({timeline})" if timeline else scenario.name
        lines.append(
            f"| {name} | {during.seconds:.1f} s | {_kind_cell(during, KEEPALIVE)} "
            f"| {_kind_cell(during, NEW_CONNECTION)} | {during.rate:.0f}/s | {_ms(during.max_gap_ms)} ms | {seen:.2%} "
            f"| {_ms(before.latency_ms(0.5))} / {_ms(before.latency_ms(0.99))} "
            f"| {_ms(during.latency_ms(0.5))} / {_ms(during.latency_ms(0.99))} "
            f"| {_prober_cell(scenario.prober)} | {'yes' if scenario.zero_required else 'no, measured'} |"
        )
    notes = [f"- **{scenario.name}**: {scenario.note}" for scenario in scenarios if scenario.note]
    if notes:
        lines += ["", notes_heading, "", *notes]
    return lines


# Timelines.

TIMELINES_TEXT = (
    "Each scenario's name links its timeline (a PNG in the folder beside this report): requests a second, p50 "
    "and p99 a second, failures a second by kind (refused, reset or closed without answer, timeout, 5xx, 503 "
    "shed), the change shaded, and as vertical lines the control plane's own events (its event log, "
    "`STACK_EVENTS_FILE`: tasks started, healthy, in and out of rotation, stopped, updates, switches, "
    "rollbacks) and the test's marks. A change made with a typed docker command logs no events."
)


def events_file(repo_root: Path, environ: Mapping[str, str] = os.environ) -> Path:
    """The control plane's event log, where its settings put it (a relative path is the checkout's: the
    scripts run from there)."""
    path = settings_load({"STACK_EVENTS_FILE": environ.get("STACK_EVENTS_FILE", "")}, repo_root=repo_root).events_file
    return path if path.is_absolute() else repo_root / path


def timeline_file_names(scenarios: Sequence[Scenario], prefix: str) -> list[str]:
    """`<prefix>-<the scenario's name in lower-case ASCII words>.png`, each unique (-2, -3 ... when needed)."""
    names: list[str] = []
    for scenario in scenarios:
        ascii_name = unicodedata.normalize("NFKD", scenario.name).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:70].rstrip("-") or "scenario"
        if not slug.startswith(f"{prefix}-"):
            slug = f"{prefix}-{slug}"
        name, number = f"{slug}.png", 2
        while name in names:
            name, number = f"{slug}-{number}.png", number + 1
        names.append(name)
    return names


def timelines_write(scenarios: Sequence[Scenario], report: Path, *, prefix: str, repo_root: Path) -> list[str | None]:
    """Draw each scenario's timeline into the folder beside `report` (bench-results/zero-downtime.md:
    bench-results/zero-downtime/) and remove the `<prefix>-*.png` an earlier report left there; return each
    one's link relative to the report. Without matplotlib (scripts/venv.sh requirements/bench.txt installs it)
    nothing is drawn and the rows get no link."""
    try:
        from tests.swarm.timeline import events_read, timeline_draw, timeline_of  # noqa: PLC0415 (only now)
    except ImportError as error:
        warnings.warn(f"zero-downtime report without timelines: {error}", stacklevel=2)
        return [None] * len(scenarios)
    folder = report.parent / report.stem
    folder.mkdir(parents=True, exist_ok=True)
    names = timeline_file_names(scenarios, prefix)
    for stale in folder.glob(f"{prefix}-*.png"):
        if stale.name not in names:
            stale.unlink()
    events = events_read(events_file(repo_root))
    links: list[str | None] = []
    for scenario, name in zip(scenarios, names, strict=True):
        outcomes = scenario.run.outcomes if scenario.run else scenario.before.outcomes + scenario.during.outcomes
        timeline = timeline_of(scenario.name, outcomes, scenario.marks, events, epoch_offset=scenario.epoch_offset)
        # A picture that cannot be drawn must not cost the suite its report: that row goes without a link.
        try:
            timeline_draw(timeline, folder / name)
        except Exception as error:
            warnings.warn(f"no timeline for {scenario.name!r}: {error!r}", stacklevel=2)
            links.append(None)
        else:
            links.append(f"{folder.name}/{name}")
    return links
