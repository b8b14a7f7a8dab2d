"""PNG plots of a `make bench` run: the decision chart (each search beside its /healthz at 32 connections, every
data profile and size, on a linear scale), and throughput and p99 against connections, one figure per data
profile and size."""

from __future__ import annotations

import io
import statistics
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from PIL import Image

from scripts.bench.results import (
    CACHE_LABELS,
    CACHE_MODES,
    CEILINGS,
    DECISION_CONNECTIONS,
    DEFAULT_PROFILE,
    LABELS,
    SEARCHES,
    DecisionBar,
    Point,
    decision_bars,
    decision_connections,
    number,
    share,
)

DPI = 100
# Each service's /healthz in a lighter shade of its search's colour.
COLOURS = {
    "django": "#1b7837",
    "django-healthz": "#7fbf7b",
    "fastapi": "#d95f02",
    "fastapi-healthz": "#fdb863",
    "nginx": "#555555",
    "pgbench": "#3366cc",
}


# Searches: solid with the cache bypassed, dashed with it on, dash-dotted with it on over the long tail.
_CACHE_STYLES = {"bypass": "-", "on": "--", "long-tail": "-."}


def section_title(size: int, profile: str) -> str:
    """A data size, and its profile when it is not the task's: "10 000 parts", "1 000 000 parts, realistic"."""
    title = f"{size:,} parts".replace(",", " ")
    return title if profile == DEFAULT_PROFILE else f"{title}, {profile}"


def _series(points: Sequence[Point], size: int, target: str, cache: str, profile: str) -> list[tuple[int, list[Point]]]:
    by_connections: dict[int, list[Point]] = {}
    for point in points:
        if (point.profile, point.size, point.target, point.cache) == (
            profile,
            size,
            target,
            cache,
        ) and not point.failed:
            by_connections.setdefault(point.connections, []).append(point)
    return sorted(by_connections.items())


def plot_size(points: Sequence[Point], size: int, path: Path, *, profile: str = DEFAULT_PROFILE) -> bool:
    """Write the figure of one data size of one data profile; False when there is nothing to plot."""
    # (target, cache, label, line style): searches by _CACHE_STYLES, ceilings dotted.
    lines = [
        (target, cache, f"{LABELS[target]}, cache {CACHE_LABELS[cache]}", _CACHE_STYLES[cache])
        for target in SEARCHES
        for cache in CACHE_MODES
    ]
    lines += [(target, "-", LABELS[target], ":") for target in CEILINGS]
    figure, (throughput, p99) = plt.subplots(1, 2, figsize=(11, 4.6), dpi=DPI)
    plotted = False
    for target, cache, label, style in lines:
        series = _series(points, size, target, cache, profile)
        if not series:
            continue
        plotted = True
        x = [connections for connections, _ in series]
        for axis, metric in ((throughput, "ok_rps"), (p99, "p99_ms")):
            values = [[float(getattr(point, metric)) for point in group] for _, group in series]
            axis.plot(
                x,
                [statistics.median(v) for v in values],
                linestyle=style,
                marker="o",
                markersize=3,
                color=COLOURS[target],
                label=label,
            )
            # The spread of the runs.
            axis.fill_between(x, [min(v) for v in values], [max(v) for v in values], color=COLOURS[target], alpha=0.12)
    if not plotted:
        plt.close(figure)
        return False
    section = section_title(size, profile)
    throughput.set_title(f"Throughput, {section} (2xx answers/s, median of runs)", fontsize=9)
    p99.set_title(f"p99 latency, {section} (ms, median of runs)", fontsize=9)
    for axis in (throughput, p99):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        connections = sorted({point.connections for point in points if (point.profile, point.size) == (profile, size)})
        axis.set_xticks(connections, [str(value) for value in connections])
        axis.set_xlabel("connections (pgbench: clients)", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.grid(True, which="both", alpha=0.25)
    handles, labels = throughput.get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=4, fontsize=7, frameon=False)
    figure.tight_layout(rect=(0, 0.12, 1, 1))
    png_save(figure, path)
    return True


def png_save(figure: Figure, path: Path, *, colours: int = 64) -> None:
    """Write `figure` to `path` as a PNG and close it. A palette of 64 colours is plenty for lines and bars on
    white, and makes the file about a quarter the size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    plt.close(figure)
    with Image.open(buffer) as image:
        image.convert("RGB").quantize(colors=colours).save(path, format="png", optimize=True)


# The decision chart: under each bar what it is, the service's name under its three bars.
_BAR_NAMES = {"bypass": "cache\nbypassed", "on": "cache\non", "-": "/healthz"}


def plot_decision(
    points: Sequence[Point],
    sizes: Sequence[int],
    path: Path,
    *,
    run: str = "",
    profiles: Sequence[str] = (DEFAULT_PROFILE,),
) -> bool:
    """The chart that answers the task's question: at DECISION_CONNECTIONS connections (or the measured count
    nearest), each search's throughput with the cache bypassed and on, beside its service's /healthz, one panel
    per data profile and size on one linear scale, the share of /healthz written above each search's bar. False
    when there is nothing to plot."""
    connections = decision_connections(points)
    bars = [] if connections is None else decision_bars(points, sizes, connections, profiles)
    shown = [
        (profile, size)
        for profile in profiles
        for size in sizes
        if any((bar.profile, bar.size) == (profile, size) for bar in bars)
    ]
    if connections is None or not shown:
        return False
    width = max(9, 4.5 * len(shown))
    figure, axes = plt.subplots(1, len(shown), figsize=(width, 4.4), dpi=DPI, sharey=True, squeeze=False)
    for axis, (profile, size) in zip(axes[0], shown, strict=True):
        ticks: list[float] = []
        tick_labels: list[str] = []
        x = 0.0
        for service in SEARCHES:
            group = [bar for bar in bars if (bar.profile, bar.size, bar.service) == (profile, size, service)]
            if not group:
                continue
            start = x
            for bar in group:
                _decision_bar(axis, x, bar)
                ticks.append(x)
                tick_labels.append(_BAR_NAMES[bar.cache])
                x += 1
            axis.text(
                (start + x - 1) / 2,
                -0.2,
                LABELS[service].removesuffix(" search"),
                transform=axis.get_xaxis_transform(),
                ha="center",
                va="top",
                fontsize=11,
                fontweight="bold",
                color=COLOURS[service],
            )
            x += 0.7  # a gap between the services
        axis.set_xticks(ticks, tick_labels, fontsize=9)
        axis.tick_params(axis="x", length=0)
        axis.tick_params(axis="y", labelsize=9)
        axis.set_title(section_title(size, profile), fontsize=11)
        axis.grid(True, axis="y", alpha=0.3)
        axis.set_axisbelow(True)
        axis.spines[["top", "right"]].set_visible(False)
    axes[0][0].set_ylabel("2xx answers per second", fontsize=10)
    axes[0][0].set_ylim(0, max(bar.ok_rps for bar in bars) * 1.18)
    runs = max(bar.runs for bar in bars)
    asked = "" if connections == DECISION_CONNECTIONS else f" (none measured at {DECISION_CONNECTIONS})"
    figure.suptitle(
        f"Throughput at {connections} connections{asked}: each search beside its service's /healthz",
        fontsize=12,
        fontweight="bold",
        y=0.975,
    )
    figure.text(
        0.5,
        0.885,
        f"2xx answers per second, linear scale, median of {runs} run{'s' if runs != 1 else ''}"
        f"{' (' + run + ')' if run else ''}; in bold: the search's share of its own service's /healthz",
        ha="center",
        fontsize=9,
        color="#333333",
    )
    figure.subplots_adjust(left=0.085, right=0.99, top=0.79, bottom=0.22, wspace=0.06)
    png_save(figure, path)
    return True


def _decision_bar(axis: Axes, x: float, bar: DecisionBar) -> None:
    """A search's bar solid (cache bypassed) or hatched (cache on), its /healthz in the service's light shade;
    the figure above it, and above that the search's share of /healthz in bold."""
    axis.bar(
        x,
        bar.ok_rps,
        width=0.8,
        color=COLOURS[bar.target],
        alpha=0.55 if bar.cache == "on" else 1.0,
        hatch="//" if bar.cache == "on" else None,
        edgecolor=COLOURS[bar.service],
        linewidth=0.8,
    )
    axis.annotate(
        number(bar.ok_rps), (x, bar.ok_rps), xytext=(0, 2), textcoords="offset points", ha="center", fontsize=9
    )
    if bar.healthz_share is not None:
        axis.annotate(
            share(bar.healthz_share),
            (x, bar.ok_rps),
            xytext=(0, 14),
            textcoords="offset points",
            ha="center",
            fontsize=10.5,
            fontweight="bold",
        )
