"""A zero-downtime scenario over time, as a PNG: what its clients saw second by second, with the moments of the
change on the same axis (as Grafana's deploy annotations or vegeta's latency plot show them).

`timeline_of` turns a load's outcomes and marks (tests/swarm/loadgen.py) and the control plane's event log
(scripts/control_plane/event_log.py) into per-second series and markers; `timeline_draw` writes the picture.
Both are pure: report.py calls them when it writes the zero-downtime report, and nothing else draws.

Time: the load's outcomes and marks are `time.monotonic()`, the event log's `t` is the wall clock. The load
records the difference of the two clocks as it starts (`LoadGenerator.epoch_offset`), so an event's moment in the
load is `t - (marks["start"] + epoch_offset)`. Both clocks are slewed alike by NTP; only a step of the wall clock
during a scenario would shift its events.
"""

from __future__ import annotations

import json
import math
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter
from matplotlib.typing import LineStyleType

from scripts.bench.plots import png_save
from tests.swarm.loadgen import CLOSED, REFUSED, RESET, TIMED_OUT, Outcome, percentile

# The kinds of failure a timeline counts. The connection failures are those ConnectionProber counts (loadgen),
# with a reset and a connection closed without an answer together; then the answers that failed.
RESET_OR_CLOSED = f"{RESET} or {CLOSED}"
SERVER_ERROR = "5xx"
SHED = "503 shed"
OTHER = "other"
FAILURE_KINDS = (REFUSED, RESET_OR_CLOSED, TIMED_OUT, SERVER_ERROR, SHED, OTHER)
# Outcome.error keeps only the exception's class name (an answer cut short keeps its cause's, AnswerCutShort).
# RemoteDisconnected is http.client's "closed without a response"; socket.timeout is TimeoutError.
_ERROR_KINDS = {
    "ConnectionRefusedError": REFUSED,
    "ConnectionResetError": RESET_OR_CLOSED,
    "ConnectionAbortedError": RESET_OR_CLOSED,
    "BrokenPipeError": RESET_OR_CLOSED,
    "RemoteDisconnected": RESET_OR_CLOSED,
    "IncompleteRead": RESET_OR_CLOSED,
    "TimeoutError": TIMED_OUT,
}
# The load's own marks that bound it and its change: drawn as the x axis's ends and the shaded change.
_BOUNDS = ("start", "end", "change", "changed")


def failure_kind(outcome: Outcome) -> str | None:
    """Which kind of failure a request was, None when it did not fail (Outcome.failed decides)."""
    if not outcome.failed:
        return None
    if outcome.error is not None:
        return _ERROR_KINDS.get(outcome.error, OTHER)
    if outcome.status == 503:
        return SHED
    if outcome.status is not None and outcome.status >= 500:
        return SERVER_ERROR
    return OTHER  # an answer other than the one expected, such as a 404 or a 200 where 405 was due


@dataclass(frozen=True)
class Second:
    """The requests that started in [at, at + width) seconds after the load started."""

    at: int
    width: float  # 1, or less for the load's last, partial second
    requests: int
    p50_ms: float  # of the requests that did not fail; NaN when none
    p99_ms: float
    failures: Mapping[str, int]

    @property
    def rate(self) -> float:
        return self.requests / self.width if self.width > 0 else 0.0


@dataclass(frozen=True)
class Marker:
    """A moment to draw: an event of the control plane's log, or one of the load's own marks."""

    at: float  # seconds after the load started
    name: str  # the event's name (records.py EventKind, or one this module does not know), or the mark's
    from_log: bool  # True: the event log; False: the load's mark
    detail: str = ""  # the event's service, when it names one


@dataclass(frozen=True)
class Timeline:
    title: str
    seconds: list[Second]
    markers: list[Marker]
    change: tuple[float, float] | None  # the test's change, seconds after the load started
    duration: float

    @property
    def requests(self) -> int:
        return sum(second.requests for second in self.seconds)

    @property
    def failures(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for second in self.seconds:
            total.update(second.failures)
        return total


def events_read(path: Path) -> list[dict[str, object]]:
    """The event log's records, oldest first; none when there is no log. A line that is not a JSON object with a
    number `t` and a string `event` (one cut short while it was written) is skipped."""
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        if isinstance(record.get("t"), int | float) and isinstance(record.get("event"), str):
            records.append(record)
    return records


def timeline_of(
    title: str,
    outcomes: Sequence[Outcome],
    marks: Mapping[str, float],
    events: Iterable[Mapping[str, object]],
    *,
    epoch_offset: float,
) -> Timeline:
    """Per-second series of the load from its start mark to its end (the last answer when it has none), the
    load's marks and the events whose `t` falls inside that span. `marks` and the outcomes' times are on the
    load's clock; `epoch_offset` turns them into the event log's (LoadGenerator.epoch_offset)."""
    start = marks.get("start", min((outcome.started for outcome in outcomes), default=0.0))
    end = marks.get("end", max((outcome.finished for outcome in outcomes), default=start))
    duration = max(0.0, end - start)
    # A last stretch under half a second joins the second before it: the load stops starting requests a little
    # before its end mark (which waits for the answers in flight), so so short a stretch would show a false dip.
    count = max(1, math.ceil(duration))
    if count > 1 and duration - (count - 1) < 0.5:
        count -= 1
    buckets: list[list[Outcome]] = [[] for _ in range(count)]
    for outcome in outcomes:
        # As a Window takes them (loadgen): the requests that started in [start, end).
        if start <= outcome.started < end:
            buckets[min(count - 1, math.floor(outcome.started - start))].append(outcome)
    seconds = []
    for index, bucket in enumerate(buckets):
        answered = [outcome.latency_ms for outcome in bucket if not outcome.failed]
        kinds = Counter(kind for kind in map(failure_kind, bucket) if kind is not None)
        seconds.append(
            Second(
                at=index,
                width=duration - index if index == count - 1 and duration > index else 1.0,
                requests=len(bucket),
                p50_ms=percentile(answered, 0.5),
                p99_ms=percentile(answered, 0.99),
                failures=dict(kinds),
            )
        )
    markers = [Marker(moment - start, name, False) for name, moment in marks.items() if name not in _BOUNDS]
    epoch_start = start + epoch_offset
    for event in events:
        moment = event["t"]
        if not isinstance(moment, int | float) or not 0 <= moment - epoch_start <= duration:
            continue
        service = event.get("service")
        markers.append(Marker(moment - epoch_start, str(event["event"]), True, str(service) if service else ""))
    markers.sort(key=lambda marker: marker.at)
    change = None
    if "change" in marks:
        change = (marks["change"] - start, marks.get("changed", end) - start)
    return Timeline(title, seconds, markers, change, duration)


# Drawing.

DPI = 100
FAILURE_COLOURS = {
    REFUSED: "#d62728",
    RESET_OR_CLOSED: "#9467bd",
    TIMED_OUT: "#8c564b",
    SERVER_ERROR: "#e377c2",
    SHED: "#ff7f0e",
    OTHER: "#7f7f7f",
}
# (colour, line style, width) of each event the control plane logs (records.py EventKind), and of the canary's.
EVENT_STYLES: dict[str, tuple[str, LineStyleType, float]] = {
    "command_started": ("#aaaaaa", "-", 1.0),
    "command_finished": ("#aaaaaa", "--", 1.0),
    "stack_deployed": ("#17becf", "--", 1.3),
    "stack_converged": ("#17becf", "-", 1.3),
    "update_started": ("#555555", "--", 1.3),
    "update_paused": ("#bcbd22", "-", 1.8),
    "update_rollback_started": ("#d62728", "--", 1.8),
    "update_rolled_back": ("#d62728", "-.", 1.8),
    "update_completed": ("#555555", "-", 1.3),
    "task_started": ("#1f77b4", ":", 1.5),
    "task_healthy": ("#2ca02c", ":", 1.5),
    "task_in_rotation": ("#2ca02c", "-", 1.5),
    "task_out_of_rotation": ("#ff7f0e", "-", 1.5),
    "task_stopped": ("#d62728", ":", 1.5),
    "scale": ("#8c564b", "--", 1.8),
    "edge_config": ("#17becf", "-.", 1.8),
    "switch": ("#9467bd", "-", 2.5),
    "rollback": ("#d62728", "-", 2.5),
    "canary_step": ("#e377c2", "--", 2.0),
    "canary_promote": ("#e377c2", "-", 2.5),
    "canary_switch_back": ("#d62728", (0, (6, 2, 1, 2)), 2.5),
}
# Events this module does not know: a dash-dot line each, in these colours in turn, named in the legend.
_UNKNOWN_COLOURS = ("#000000", "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#843c39")
_UNKNOWN_STYLE = (0, (5, 2, 1, 2))
_MARK_COLOUR = "#222222"
_CHANGE_COLOUR = "#fff2b3"


def _event_styles(names: Iterable[str]) -> dict[str, tuple[str, LineStyleType, float]]:
    """The style of each event name present: the known ones in EVENT_STYLES' order, then the others."""
    present = set(names)
    styles = {name: style for name, style in EVENT_STYLES.items() if name in present}
    for index, name in enumerate(sorted(present - set(EVENT_STYLES))):
        styles[name] = (_UNKNOWN_COLOURS[index % len(_UNKNOWN_COLOURS)], _UNKNOWN_STYLE, 1.8)
    return styles


def timeline_draw(timeline: Timeline, path: Path) -> None:
    """Three panels on one time axis (requests a second; p50 and p99; failures a second by kind), the change
    shaded, every marker a vertical line through all three, and one legend for the markers below."""
    figure, (rate, latency, failed) = plt.subplots(
        3,
        1,
        sharex=True,
        figsize=(9, 8.4),
        dpi=DPI,
        layout="constrained",
        gridspec_kw={"height_ratios": (1, 1.15, 1)},
    )
    edges = [float(second.at) for second in timeline.seconds] + [float(timeline.duration or 1)]
    axes = (rate, latency, failed)
    styles = _event_styles(marker.name for marker in timeline.markers if marker.from_log)
    for axis in axes:
        if timeline.change is not None:
            axis.axvspan(*timeline.change, color=_CHANGE_COLOUR, zorder=0)
        for marker in timeline.markers:
            if marker.from_log:
                colour, style, width = styles[marker.name]
                axis.axvline(marker.at, color=colour, linestyle=style, linewidth=width, alpha=0.85, zorder=1)
            else:
                axis.axvline(marker.at, color=_MARK_COLOUR, linestyle=(0, (1, 1)), linewidth=1.0, zorder=1)
        axis.grid(True, axis="y", alpha=0.3)
        axis.tick_params(labelsize=9)
        axis.spines[["top", "right"]].set_visible(False)

    rate.stairs(
        [second.rate for second in timeline.seconds], edges, baseline=None, color="#1f77b4", linewidth=1.6, zorder=2
    )
    rate.set_ylabel("requests / s", fontsize=10)
    rate.set_ylim(0, max([second.rate for second in timeline.seconds] + [1.0]) * 1.15)
    _mark_labels(rate, timeline)

    centres = [second.at + second.width / 2 for second in timeline.seconds]
    for values, colour, label in (
        ([second.p50_ms for second in timeline.seconds], "#1f77b4", "p50"),
        ([second.p99_ms for second in timeline.seconds], "#d62728", "p99"),
    ):
        latency.plot(centres, values, color=colour, linewidth=1.5, marker="o", markersize=2.5, label=label, zorder=2)
    measured = [value for second in timeline.seconds for value in (second.p50_ms, second.p99_ms) if value > 0]
    if measured:
        # From the decade below the fastest second, ticks at 1, 2 and 5 of each decade in plain milliseconds.
        latency.set_yscale("log")
        latency.set_ylim(10 ** math.floor(math.log10(min(measured))), max(measured) * 1.6)
        latency.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        latency.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        latency.yaxis.set_minor_formatter(NullFormatter())
    latency.set_ylabel("ms, answered requests\n(log scale)", fontsize=10)
    latency.legend(loc="upper left", fontsize=9, ncol=2, framealpha=0.9)

    bottoms = [0] * len(timeline.seconds)
    kinds = [kind for kind in FAILURE_KINDS if timeline.failures[kind]]
    for kind in kinds:
        counts = [second.failures.get(kind, 0) for second in timeline.seconds]
        failed.bar(
            edges[:-1],
            counts,
            width=[second.width for second in timeline.seconds],
            bottom=bottoms,
            align="edge",
            color=FAILURE_COLOURS[kind],
            label=kind,
            zorder=2,
        )
        bottoms = [low + count for low, count in zip(bottoms, counts, strict=True)]
    if kinds:
        failed.legend(loc="upper left", fontsize=9, ncol=3, framealpha=0.9)
        failed.set_ylim(0, max(bottoms) * 1.6)  # room for the legend
    else:
        failed.set_ylim(0, 1)
        failed.text(0.5, 0.5, "no failed request", transform=failed.transAxes, ha="center", va="center", fontsize=11)
    failed.yaxis.set_major_locator(MaxNLocator(integer=True))
    failed.set_ylabel("failed / s", fontsize=10)
    failed.set_xlabel("seconds since the load started", fontsize=10)
    failed.set_xlim(0, max(edges[-1], 1.0))

    total, failures = timeline.requests, sum(timeline.failures.values())
    change = ""
    if timeline.change is not None:
        change = f"; the change (shaded) took {timeline.change[1] - timeline.change[0]:.1f} s"
    figure.suptitle("\n".join(textwrap.wrap(timeline.title, 80)), fontsize=12, fontweight="bold")
    rate.set_title(f"{_count(total)} requests, {_count(failures)} failed{change}", fontsize=10)
    handles, labels = _marker_legend(timeline, styles)
    if handles:
        figure.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=9, frameon=False)
    png_save(figure, path, colours=128)


def _count(value: int) -> str:
    """12 911 as the report writes it."""
    return f"{value:,}".replace(",", " ")


def _mark_labels(axis: Axes, timeline: Timeline) -> None:
    """The load's own marks (the test's steps: rollback_called, switched_again ...) named at the panel's top."""
    for marker in timeline.markers:
        if not marker.from_log:
            axis.text(
                marker.at,
                0.98,
                f" {marker.name}",
                transform=axis.get_xaxis_transform(),
                rotation=90,
                ha="right",
                va="top",
                fontsize=8,
                color=_MARK_COLOUR,
                zorder=3,
            )


def _marker_legend(
    timeline: Timeline, styles: Mapping[str, tuple[str, LineStyleType, float]]
) -> tuple[list[Line2D | Patch], list[str]]:
    handles: list[Line2D | Patch] = []
    labels: list[str] = []
    if timeline.change is not None:
        handles.append(Patch(color=_CHANGE_COLOUR))
        labels.append("the test's change (marks change to changed)")
    if any(not marker.from_log for marker in timeline.markers):
        handles.append(Line2D([], [], color=_MARK_COLOUR, linestyle=(0, (1, 1)), linewidth=1.0))
        labels.append("a mark of the test (named above)")
    counts = Counter(marker.name for marker in timeline.markers if marker.from_log)
    for name, (colour, style, width) in styles.items():
        handles.append(Line2D([], [], color=colour, linestyle=style, linewidth=width))
        labels.append(f"{name} ({counts[name]})" if name in EVENT_STYLES else f"{name} ({counts[name]}, other event)")
    return handles, labels
