"""Canary decisions: the share's steps, the edge's figures per colour over a window, and whether a step's
window promotes the candidate, holds, or sends everyone back to the live colour.

The figures come from each Nginx task's lua/edge_metrics.lua (GET /edge/metrics, through the watcher): counters
that only grow while the task lives. A window is the difference between two reads of the same tasks; a task
that is new, or restarted (a counter went down), counts from zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

DEFAULT_STEPS = (5, 25, 50)
# The fewest answers a window's p99 stands on. Over the hundred-odd requests of a short step, the p99 is the
# slowest answer or two: one cold answer of a good release on a busy machine moved it by 500 ms (610 ms against
# 81 in the Swarm suite) and switched that release back. Under 100 x (TAIL_ANSWERS - 1) requests (400) the p99
# is read as the TAIL_ANSWERS-th slowest answer instead; a release that is really slower is slow in far more.
TAIL_ANSWERS = 5
Decision = Literal["promote", "hold", "switch_back"]


class CanaryError(ValueError):
    """A bad option: steps, thresholds, an allowlist value."""


@dataclass(frozen=True)
class Thresholds:
    """What a step needs before it judges, and how much worse than the live colour the candidate may be."""

    min_requests: int = 100
    # Percentage points the candidate's error rate (5xx answers) may exceed the live colour's by.
    max_error_rate_increase: float = 1.0
    # Milliseconds the candidate's p99 may exceed the live colour's by.
    max_p99_increase_ms: float = 300.0

    def __post_init__(self) -> None:
        if self.min_requests < 1:
            raise CanaryError("--min-requests must be at least 1")
        if self.max_error_rate_increase < 0 or self.max_p99_increase_ms < 0:
            raise CanaryError("the thresholds must not be negative")

    def label(self) -> str:
        """The nginx service label that `status` shows (partscat.canary-thresholds)."""
        return (
            f"min-requests={self.min_requests} max-error-rate-increase={self.max_error_rate_increase:g}pp "
            f"max-p99-increase={self.max_p99_increase_ms:g}ms"
        )


def steps_parse(text: str) -> tuple[int, ...]:
    """'5,25,50' -> (5, 25, 50): rising shares under 100; 100 at the end is the promotion itself."""
    try:
        steps = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise CanaryError(f"--steps must be whole percentages separated by commas, got {text!r}") from None
    if steps and steps[-1] == 100:
        steps = steps[:-1]
    if not steps or any(not 0 < step < 100 for step in steps) or list(steps) != sorted(set(steps)):
        raise CanaryError(f"--steps must rise from above 0 to below 100 (100 is the promotion), got {text!r}")
    return steps


@dataclass(frozen=True)
class Figures:
    """One colour over a window, on one route or all together: requests, 5xx answers, the edge's own failures
    and the latency histogram (counts per bucket of `bounds_ms`, the last one unbounded)."""

    requests: int = 0
    errors: int = 0
    edge_failures: int = 0
    buckets: tuple[int, ...] = ()
    bounds_ms: tuple[float, ...] = ()

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def p99_ms(self) -> float:
        """The p99, or the TAIL_ANSWERS-th slowest answer in a window too small for a p99 to stand on more."""
        answers = sum(self.buckets)
        quantile = min(0.99, 1 - (TAIL_ANSWERS - 1) / answers) if answers else 0.99
        return quantile_ms(self.buckets, self.bounds_ms, quantile)

    def summary(self) -> dict[str, int | float]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate_percent": round(100 * self.error_rate, 3),
            "edge_failures": self.edge_failures,
            "p99_ms": round(self.p99_ms(), 1),
        }


def quantile_ms(buckets: Sequence[int], bounds_ms: Sequence[float], quantile: float) -> float:
    """The quantile's time, linear inside the bucket it falls in (Prometheus' histogram_quantile does the
    same). In the last, unbounded bucket: its lower bound, the most that can be said."""
    total = sum(buckets)
    if total == 0:
        return 0.0
    rank = quantile * total
    seen = 0
    for index, count in enumerate(buckets):
        if count and seen + count >= rank:
            lower = bounds_ms[index - 1] if index > 0 else 0.0
            if index >= len(bounds_ms):
                return float(lower)
            return lower + (bounds_ms[index] - lower) * (rank - seen) / count
        seen += count
    return float(bounds_ms[-1]) if bounds_ms else 0.0


# One read of every Nginx task: task id -> the edge's JSON (GET /edge/metrics).
Reading = Mapping[str, Mapping[str, Any]]


def _counters(metrics: Mapping[str, Any], colour: str, route: str | None) -> tuple[int, int, int, list[int]]:
    requests = errors = failures = 0
    buckets: list[int] = []
    routes = metrics.get("colours", {}).get(colour) or {}
    for name, route_figures in routes.items():
        if route is not None and name != route:
            continue
        requests += int(route_figures.get("requests", 0))
        errors += int(route_figures.get("5xx", 0))
        failures += int(route_figures.get("edge_failures", 0))
        counts = [int(count) for count in route_figures.get("buckets", [])]
        buckets = [a + b for a, b in zip(buckets or [0] * len(counts), counts, strict=True)]
    return requests, errors, failures, buckets


def routes(reading: Reading) -> list[str]:
    """Every route any task has counted, for any colour."""
    return sorted({route for metrics in reading.values() for by in metrics.get("colours", {}).values() for route in by})


def window(before: Reading, after: Reading, colour: str, route: str | None = None) -> Figures:
    """COLOUR's figures between two reads (one ROUTE, or all), summed over the Nginx tasks of the second read."""
    requests = errors = failures = 0
    buckets: list[int] = []
    bounds: tuple[float, ...] = ()
    for task, metrics in after.items():
        bounds = tuple(float(bound) for bound in metrics.get("buckets_ms", ()))
        now = _counters(metrics, colour, route)
        if not now[3]:
            continue  # this task has routed nobody to the colour
        then = _counters(before.get(task, {}), colour, route)
        if then[0] > now[0] or len(then[3]) != len(now[3]):
            then = (0, 0, 0, [0] * len(now[3]))  # the task restarted: its counters began again
        requests += now[0] - then[0]
        errors += now[1] - then[1]
        failures += now[2] - then[2]
        delta = [a - b for a, b in zip(now[3], then[3], strict=True)]
        buckets = [a + b for a, b in zip(buckets or [0] * len(delta), delta, strict=True)]
    return Figures(requests, errors, failures, tuple(buckets), bounds)


@dataclass(frozen=True)
class Judgement:
    decision: Decision
    reason: str
    live: Figures = field(default_factory=Figures)
    candidate: Figures = field(default_factory=Figures)


def judge(
    live: Figures,
    candidate: Figures,
    thresholds: Thresholds,
    by_route: Mapping[str, tuple[Figures, Figures]] | None = None,
) -> Judgement:
    """One step's window: too few requests on either side to judge holds (never promotes); a candidate worse
    than the live colour by more than a threshold is switched back; otherwise the step passes.

    The error rate is compared over all routes and on each route (BY_ROUTE: live's and the candidate's figures)
    that had enough requests on both sides: one search in twenty failing is a fifth of that over all routes
    when searches are two requests in five. The p99 is compared over all routes only: a route's few requests
    in a short window make its p99 the slowest one or two, which is noise."""
    if candidate.requests < thresholds.min_requests or live.requests < thresholds.min_requests:
        return Judgement(
            "hold",
            f"thin traffic: the candidate had {candidate.requests} and the live colour {live.requests} requests "
            f"in the window; {thresholds.min_requests} each are needed to judge",
            live,
            candidate,
        )
    compared = [("", live, candidate)] + [
        (f" on {route}", route_live, route_candidate)
        for route, (route_live, route_candidate) in sorted((by_route or {}).items())
        if min(route_live.requests, route_candidate.requests) >= thresholds.min_requests
    ]
    for where, live_part, candidate_part in compared:
        increase = 100 * (candidate_part.error_rate - live_part.error_rate)
        if increase > thresholds.max_error_rate_increase:
            return Judgement(
                "switch_back",
                f"error rate{where} {100 * candidate_part.error_rate:.2f} % against the live colour's "
                f"{100 * live_part.error_rate:.2f} % (+{increase:.2f} points; at most "
                f"+{thresholds.max_error_rate_increase:g} allowed)",
                live,
                candidate,
            )
    slower = candidate.p99_ms() - live.p99_ms()
    if slower > thresholds.max_p99_increase_ms:
        return Judgement(
            "switch_back",
            f"p99 {candidate.p99_ms():.0f} ms against the live colour's {live.p99_ms():.0f} ms "
            f"(+{slower:.0f} ms; at most +{thresholds.max_p99_increase_ms:g} ms allowed)",
            live,
            candidate,
        )
    return Judgement(
        "promote",
        f"error rate {100 * candidate.error_rate:.2f} % (live {100 * live.error_rate:.2f} %), p99 "
        f"{candidate.p99_ms():.0f} ms (live {live.p99_ms():.0f} ms) over {candidate.requests} requests",
        live,
        candidate,
    )


def allow_values(values: Iterable[str]) -> tuple[str, ...]:
    """--allow values: what lua/edge_decisions.lua accepts in an X-Canary header (letters, digits, '.', '_', '-')."""
    allowed = []
    for value in values:
        if not value or not all(character.isalnum() or character in "._-" for character in value):
            raise CanaryError(f"--allow {value!r}: letters, digits, '.', '_' and '-' only")
        allowed.append(value)
    return tuple(allowed)
