"""rollback SERVICE [--force] (scripts/rollback.sh): roll one service back to its previous spec (image
included) and wait until Swarm says rolled back; non-zero if it paused or did not finish.

Swarm keeps one previous spec: rolling back twice would undo the rollback, so a service already rolled
back is left alone unless --force.
"""

from __future__ import annotations

from collections.abc import Sequence

from scripts.control_plane.context import Context
from scripts.control_plane.decisions.update_state import UpdateKind, UpdateOutcome, status_kind
from scripts.control_plane.records import EventKind
from scripts.control_plane.runbook import Failure
from scripts.control_plane.settings import seconds_text
from scripts.control_plane.waits import Watch, settle_crowded_slots, wait_for_update

USAGE = "usage: rollback.sh SERVICE [--force]"


def run(ctx: Context, args: Sequence[str]) -> None:
    if not 1 <= len(args) <= 2:
        raise Failure(USAGE)
    ctx.require_docker()
    service = ctx.service_name(args[0])
    force = len(args) == 2 and args[1] == "--force"
    ctx.verdict.details.update({"service": service, "force": force})
    current = ctx.docker.service(service)
    if current is None:
        raise Failure(f"no service {service}")
    if status_kind(current.update_status) is UpdateKind.ROLLED_BACK and not force:
        ctx.log(f"{service} is already rolled back ({current.image}); --force rolls back again")
        ctx.verdict.outcome = "unchanged"
        return
    if not current.has_previous_spec:
        raise Failure(f"{service} has no previous spec to roll back to")

    ctx.log(f"rolling back {service}: {current.image} -> {current.previous_image or ''}")
    watch = Watch(ctx, [service])
    watch.start()
    with ctx.timer.phase("rollback"):
        ctx.docker.service_rollback(service)
        ctx.events.emit(EventKind.ROLLBACK, service=service, image=current.image, to_image=current.previous_image)
        if ctx.dry_run:
            ctx.log(f"dry run: not waiting for the rollback of {service}")
            ctx.verdict.outcome = "dry_run"
            return
        timeout = ctx.settings.update_timeout
        ended = wait_for_update(ctx, service, timeout=timeout, watch=watch)
    if ended.outcome is UpdateOutcome.ROLLED_BACK:
        after = ctx.docker.service(service)
        ctx.log(f"rolled back {service} to {after.image if after is not None else ''}")
        settle_crowded_slots(ctx, service, timeout=timeout)
        return
    if ended.outcome is UpdateOutcome.PAUSED:
        raise Failure(f"rollback of {service} paused: {ended.message}")
    raise Failure(f"rollback of {service} not finished after {seconds_text(timeout)}s (state: {ended.state or 'none'})")
