"""update SERVICE IMAGE (scripts/update.sh): a rolling start-first update of one service to another image,
health-gated by the service's update_config; non-zero if it failed, paused or Swarm rolled it back.

`docker service update` itself exits 0 after an automatic rollback (docker/cli#6752): this waits for the
update's end and judges it (waits.wait_for_update), so a rollback is an exit 1 and outcome "rolled_back".
"""

from __future__ import annotations

from collections.abc import Sequence

from scripts.control_plane.commands.task_report import service_task_report
from scripts.control_plane.context import Context
from scripts.control_plane.decisions.update_state import UpdateOutcome
from scripts.control_plane.records import EventKind
from scripts.control_plane.runbook import Failure
from scripts.control_plane.settings import seconds_text
from scripts.control_plane.waits import Watch, settle_crowded_slots, wait_for_update

USAGE = "usage: update.sh SERVICE IMAGE   (e.g. update.sh django partscat/django:1a2b3c4)"


def run(ctx: Context, args: Sequence[str]) -> None:
    if len(args) != 2:
        raise Failure(USAGE)
    ctx.require_docker()
    # django and fastapi mean their live colour (blue-green); django-green etc. name one colour.
    service, image = ctx.service_name(args[0]), args[1]
    ctx.verdict.details.update({"service": service, "image": image})
    current = ctx.docker.service(service)
    if current is None:
        raise Failure(f"no service {service}")
    # Without a registry every node must already hold the image (true on one node after build-images.sh); with
    # one, the manager pulls it first: a tag the registry lacks is refused here, before any task is replaced.
    problem = ctx.image_problem(image)
    if problem is not None:
        ctx.verdict.outcome = "refused"
        raise Failure(problem)
    ctx.verdict.details["previous_image"] = current.image
    # Swarm pins the digest it resolved (image:tag@sha256:...).
    if current.image.split("@")[0] == image:
        ctx.log(f"{service} already runs {image}")
        ctx.verdict.outcome = "unchanged"
        return

    ctx.log(f"updating {service}: {current.image} -> {image}")
    watch = Watch(ctx, [service])
    watch.start()
    # The service's update_config decides the rest: one task at a time, the new task healthy before an old
    # one stops, an automatic rollback if a new task fails within the monitor window.
    with ctx.timer.phase("update"):
        ctx.docker.service_image_set(service, image)
        ctx.events.emit(EventKind.UPDATE_STARTED, service=service, image=image, previous_image=current.image)
        watch.announced(service)
        if ctx.dry_run:
            ctx.log(f"dry run: not waiting for the update of {service}")
            ctx.verdict.outcome = "dry_run"
            return
        timeout = ctx.settings.update_timeout
        ended = wait_for_update(ctx, service, timeout=timeout, watch=watch)
    # The exit is 1 for every end but completed, as update.sh's was.
    if ended.outcome is UpdateOutcome.COMPLETED:
        ctx.log(f"updated {service} to {image}")
        return
    if ended.outcome in (UpdateOutcome.ROLLED_BACK, UpdateOutcome.PAUSED):
        reason = f"update of {service} failed ({ended.state}): {ended.message}"
        ctx.log(reason)
        service_task_report(ctx, service)
        if ended.outcome is UpdateOutcome.ROLLED_BACK:
            settle_crowded_slots(ctx, service, timeout=timeout)
        raise Failure(reason, logged=True)
    raise Failure(f"update of {service} not finished after {seconds_text(timeout)}s (state: {ended.state or 'none'})")
