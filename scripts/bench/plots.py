"""PNG plots of a `make bench` run: throughput and p99 against connections, one figure per data size."""

from __future__ import annotations

import io
import statistics
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
from PIL import Image

from scripts.bench.results import CACHE_LABELS, CEILINGS, LABELS, SEARCHES, Point

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


def _series(points: Sequence[Point], size: int, target: str, cache: str) -> list[tuple[int, list[Point]]]:
    by_connections: dict[int, list[Point]] = {}
    for point in points:
        if (point.size, point.target, point.cache) == (size, target, cache) and not point.failed:
            by_connections.setdefault(point.connections, []).append(point)
    return sorted(by_connections.items())


def plot_size(points: Sequence[Point], size: int, path: Path) -> bool:
    """Write the figure of one data size; False when there is nothing to plot."""
    # (target, cache, label, line style): searches solid (cache bypassed) or dashed (cache on), ceilings dotted.
    lines = [
        (target, cache, f"{LABELS[target]}, cache {CACHE_LABELS[cache]}", "-" if cache == "bypass" else "--")
        for target in SEARCHES
        for cache in ("bypass", "on")
    ]
    lines += [(target, "-", LABELS[target], ":") for target in CEILINGS]
    figure, (throughput, p99) = plt.subplots(1, 2, figsize=(11, 4.6), dpi=DPI)
    plotted = False
    for target, cache, label, style in lines:
        series = _series(points, size, target, cache)
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
    count = f"{size:,}".replace(",", " ")
    throughput.set_title(f"Throughput, {count} parts (2xx answers/s, median of runs)", fontsize=9)
    p99.set_title(f"p99 latency, {count} parts (ms, median of runs)", fontsize=9)
    for axis in (throughput, p99):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        connections = sorted({point.connections for point in points if point.size == size})
        axis.set_xticks(connections, [str(value) for value in connections])
        axis.set_xlabel("connections (pgbench: clients)", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.grid(True, which="both", alpha=0.25)
    handles, labels = throughput.get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=4, fontsize=7, frameon=False)
    figure.tight_layout(rect=(0, 0.12, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    plt.close(figure)
    # A palette of 64 colours is plenty for lines on white, and makes the file about a quarter the size.
    with Image.open(buffer) as image:
        image.convert("RGB").quantize(colors=64).save(path, format="png", optimize=True)
    return True
