"""bluegreen canary | share: a canary release of the candidate colour, judged by what users measure at the edge.

  canary [--steps 5,25,50] [--min-requests N] [--max-error-rate-increase PP] [--max-p99-increase-ms MS]
         [--interval S] [--min-step-seconds S] [--step-timeout S] [--allow VALUE]...
      Step the share of users on the candidate (sticky per user: lua/edge.lua). At each step, wait until both
      colours have had --min-requests requests in the step's window (at least --min-step-seconds), then compare
      the candidate's error rate (5xx answers) and p99 with the live colour's over that same window:
        - worse by more than a threshold: everyone back on the live colour at once; exit 1;
        - too few requests by --step-timeout: hold, the share stays where it is, and say why; exit 3;
        - otherwise the next step; after the last one, the candidate becomes live (the switch); exit 0.
      With --dry-run the figures are read and judged, and nothing is changed.
  share PERCENT [--allow VALUE]...
      Set the share (0 ends a canary) and the X-Canary values that always reach the candidate.

The share, allowlist and thresholds are labels of the nginx service with the colour state, and every running
Nginx task is told at once (every edge node with PARTSCAT_NODE_HOSTS). The verdict (--json FILE) has each
step's figures per colour, its decision and the reason.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, Protocol

from scripts.control_plane.context import Context
from scripts.control_plane.decisions import canary, colours
from scripts.control_plane.decisions.colours import APPS, Colour, ReleaseState, app_service
from scripts.control_plane.docker import WATCHER
from scripts.control_plane.records import EventKind
from scripts.control_plane.runbook import Failure
from scripts.control_plane.verdict import JsonValue
from scripts.control_plane.waits import colour_readiness_now

HELD_EXIT = 3


class LiveSet(Protocol):
    """bluegreen's live_set: point every Nginx task at a colour and record it (ends a canary too)."""

    def __call__(self, ctx: Context, colour: Colour, *, previous: Colour, kind: EventKind) -> None: ...


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # usage errors are the command's own (exit 1), not argparse's exit 2
        raise Failure(f"{self.prog}: {message}")


def _allow_option(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--allow", action="append", default=[])
    return parser


def options(args: Sequence[str]) -> argparse.Namespace:
    parser = _allow_option(_Parser(prog="bluegreen.sh canary", add_help=False))
    defaults = canary.Thresholds()
    parser.add_argument("--steps", default=",".join(str(step) for step in canary.DEFAULT_STEPS))
    parser.add_argument("--min-requests", type=int, default=defaults.min_requests)
    parser.add_argument("--max-error-rate-increase", type=float, default=defaults.max_error_rate_increase)
    parser.add_argument("--max-p99-increase-ms", type=float, default=defaults.max_p99_increase_ms)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--min-step-seconds", type=float, default=10.0)
    parser.add_argument("--step-timeout", type=float, default=120.0)
    return parser.parse_args(list(args))


def share_push(ctx: Context, state: ReleaseState, percent: int, allow: Sequence[str], *, thresholds: str = "") -> None:
    """Tell every running Nginx task the share and allowlist, then record them in the swarm."""
    containers = ctx.docker.containers(ctx.settings.nginx_service)
    if not containers:
        raise Failure("no running nginx task found (on a cluster, set PARTSCAT_NODE_HOSTS: cluster.sh env)")
    for container in containers:
        result = ctx.docker.exec_change(container, ["python3", WATCHER, "canary", str(percent), *allow])
        if result.returncode != 0:
            ctx.runbook.relay(result.stderr)
            raise Failure(f"nginx task {container.id} did not take the canary share {percent}")
    labels = {colours.CANARY_LABEL: str(percent), colours.CANARY_ALLOW_LABEL: " ".join(allow)}
    if thresholds:
        labels[colours.CANARY_THRESHOLDS_LABEL] = thresholds
    ctx.docker.service_labels_add(ctx.settings.nginx_service, labels)
    ctx.events.emit(
        EventKind.CANARY_STEP, live=state.live, candidate=state.idle, percent=percent, allow=" ".join(allow)
    )


def _candidate(ctx: Context, state: ReleaseState) -> None:
    """The candidate must be the colour that is not live, deployed and fully healthy and in rotation."""
    if state.candidate is None or state.candidate == state.live:
        raise Failure("no candidate beside the live colour: run bluegreen.sh deploy first")
    service = ctx.docker.service(app_service(ctx.stack, APPS[0], state.candidate))
    readiness = colour_readiness_now(ctx, state.candidate, (service.replicas or 0) if service else 0)
    if readiness is not None:
        raise Failure(f"the candidate {state.candidate} is not ready: {readiness}")


def share(ctx: Context, args: Sequence[str]) -> None:
    if not args or not args[0].isdigit() or int(args[0]) > 100:
        raise Failure("usage: bluegreen.sh share PERCENT [--allow VALUE]...")
    percent = int(args[0])
    parsed = _allow_option(_Parser(prog="bluegreen.sh share", add_help=False)).parse_args(list(args[1:]))
    try:
        allow = canary.allow_values(parsed.allow)
    except canary.CanaryError as error:
        raise Failure(str(error)) from None
    state = ctx.release_state()
    if percent > 0 or allow:
        _candidate(ctx, state)
    share_push(ctx, state, percent, allow)
    ctx.verdict.details.update({"canary_percent": percent, "canary_allow": list(allow)})
    ctx.log(f"{percent} % of users go to {state.idle}" + (f"; X-Canary {', '.join(allow)} always" if allow else ""))
    ctx.verdict.outcome = "dry_run" if ctx.dry_run else "shared"


def reading(ctx: Context) -> canary.Reading:
    """The edge's figures from every Nginx task (every edge node): task id -> GET /edge/metrics."""
    figures = {}
    for container in ctx.docker.containers(ctx.settings.nginx_service):
        metrics = ctx.docker.edge_metrics(container)
        if metrics is None:
            raise Failure(f"could not read the edge's figures from nginx task {container.id}")
        figures[container.id] = metrics
    if not figures:
        raise Failure("no running nginx task to read the edge's figures from")
    return figures


def step_window(
    ctx: Context, state: ReleaseState, opts: argparse.Namespace, thresholds: canary.Thresholds
) -> canary.Judgement:
    """Read the figures until the window holds enough requests to judge (after --min-step-seconds) or the
    step times out (hold)."""
    before = reading(ctx)
    started = ctx.clock.monotonic()
    while True:
        ctx.clock.sleep(opts.interval)
        elapsed = ctx.clock.monotonic() - started
        after = reading(ctx)
        by_route = {
            route: (canary.window(before, after, state.live, route), canary.window(before, after, state.idle, route))
            for route in canary.routes(after)
        }
        judgement = canary.judge(
            canary.window(before, after, state.live), canary.window(before, after, state.idle), thresholds, by_route
        )
        if elapsed < opts.min_step_seconds and judgement.decision != "switch_back":
            continue
        if judgement.decision != "hold" or elapsed >= opts.step_timeout:
            return judgement


def _json(figures: canary.Figures) -> dict[str, JsonValue]:
    return dict(figures.summary())


def run_canary(ctx: Context, args: Sequence[str], *, live_set: LiveSet) -> None:
    opts = options(args)
    try:
        steps = canary.steps_parse(opts.steps)
        thresholds = canary.Thresholds(opts.min_requests, opts.max_error_rate_increase, opts.max_p99_increase_ms)
        allow = canary.allow_values(opts.allow)
    except canary.CanaryError as error:
        raise Failure(str(error)) from None
    state = ctx.release_state()
    _candidate(ctx, state)
    report: list[JsonValue] = []
    ctx.verdict.details.update(
        {"live_colour": state.live, "candidate_colour": state.idle, "steps": report, "thresholds": thresholds.label()}
    )
    ctx.log(
        f"canary of {state.idle} beside {state.live}: steps {', '.join(map(str, steps))} %, then 100; "
        f"{thresholds.label()}"
    )
    for percent in steps:
        share_push(ctx, state, percent, allow, thresholds=thresholds.label())
        with ctx.timer.phase(f"step_{percent}"):
            judgement = step_window(ctx, state, opts, thresholds)
        report.append(
            {
                "percent": percent,
                "decision": judgement.decision,
                "reason": judgement.reason,
                state.live: _json(judgement.live),
                state.idle: _json(judgement.candidate),
            }
        )
        ctx.log(f"step {percent} %: {judgement.decision}: {judgement.reason}")
        if judgement.decision == "switch_back":
            share_push(ctx, state, 0, ())
            ctx.events.emit(
                EventKind.CANARY_SWITCH_BACK, live=state.live, candidate=state.idle, reason=judgement.reason
            )
            ctx.verdict.outcome = "dry_run" if ctx.dry_run else "switched_back"
            raise Failure(f"switched everyone back to {state.live}: {judgement.reason}")
        if judgement.decision == "hold":
            ctx.verdict.outcome = "held"
            raise Failure(
                f"held at {percent} % on {state.idle}: {judgement.reason} (run it again, or bluegreen.sh rollback)",
                exit_code=HELD_EXIT,
            )
    _promote(ctx, state, live_set)


def _promote(ctx: Context, state: ReleaseState, live_set: LiveSet) -> None:
    """The candidate passed every step: it becomes live on every Nginx task, which ends the canary there."""
    live_set(ctx, state.idle, previous=state.live, kind=EventKind.CANARY_PROMOTE)
    ctx.verdict.outcome = "dry_run" if ctx.dry_run else "promoted"
    ctx.log(f"promoted: {state.idle} is live; next: bluegreen.sh finish")
