"""The zero-downtime report: each Swarm scenario's load, before and during its change, as Markdown.

The Swarm suite records every scenario it runs; with ZERO_DOWNTIME_REPORT set (scripts/zero-downtime-report.sh
sets it to bench-results/zero-downtime.md) the session writes the table there at its end.
"""

from __future__ import annotations

import datetime
import math
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

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


def report_markdown(scenarios: list[Scenario], repo_root: Path) -> str:
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
    ]
    return "\n".join(lines + _table(scenarios, notes_heading="## Notes")) + "\n"


def cluster_section_markdown(scenarios: list[Scenario], repo_root: Path) -> str:
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
    return "\n".join(lines + _table(scenarios, notes_heading="### Cluster notes")) + "\n"


def _commit(repo_root: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=repo_root, capture_output=True, text=True, check=False
    ).stdout.strip()


def _today() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _table(scenarios: list[Scenario], *, notes_heading: str) -> list[str]:
    lines = [
        "| scenario | change took | keep-alive sent / failed | new-connection sent / failed | rate | largest gap "
        f"| {OUTAGE_MS} ms outage seen | p50 / p99 before (ms) | p50 / p99 during (ms) | prober | must be zero |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for scenario in scenarios:
        during, before = scenario.during, scenario.before
        seen = during.outage_detection_share()
        lines.append(
            f"| {scenario.name} | {during.seconds:.1f} s | {_kind_cell(during, KEEPALIVE)} "
            f"| {_kind_cell(during, NEW_CONNECTION)} | {during.rate:.0f}/s | {_ms(during.max_gap_ms)} ms | {seen:.2%} "
            f"| {_ms(before.latency_ms(0.5))} / {_ms(before.latency_ms(0.99))} "
            f"| {_ms(during.latency_ms(0.5))} / {_ms(during.latency_ms(0.99))} "
            f"| {_prober_cell(scenario.prober)} | {'yes' if scenario.zero_required else 'no, measured'} |"
        )
    notes = [f"- **{scenario.name}**: {scenario.note}" for scenario in scenarios if scenario.note]
    if notes:
        lines += ["", notes_heading, "", *notes]
    return lines
