"""bluegreen deploy [TAG] | switch | rollback | finish | status (scripts/bluegreen.sh): blue-green releases
of django and fastapi.

  deploy [TAG]  start the idle colour of both apps at the live colour's replica count, on partscat/<app>:TAG
                (REGISTRY/partscat/<app>:TAG with a registry)
                (default: the images build-images.sh built last), wait until every task is healthy and in
                Nginx's rotation, smoke-check it through Nginx's preview listener (inside the Nginx tasks
                only; no user request reaches it), then check that the live colour still passes the same
                checks after the new release's migrations. Records it as the candidate.
  switch        every new request goes to the candidate colour; requests in flight finish on the old one,
                which stays up, warm.
  rollback      every new request goes back to the other colour (within a second, while it is still up).
  finish        scale the colour that is not live to 0.
  status        live colour and since when, the candidate, and per colour: images, healthy tasks, peers.

Every subcommand is idempotent and exits non-zero when it did not get there. The state is kept as labels of
the nginx service (partscat.live-colour, partscat.live-since, partscat.candidate-colour), so any manager can
run it. Switching tells every running Nginx task at once: this engine's, or with PARTSCAT_NODE_HOSTS
(node=docker-host,...: what `scripts/cluster.sh env` prints) those of every edge node, each through its own
node's engine (`docker --host <node> exec`); a task created later reads the label.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from scripts.control_plane.commands import canary as canary_command
from scripts.control_plane.context import Context
from scripts.control_plane.decisions import colours, edge
from scripts.control_plane.decisions.canary import Thresholds
from scripts.control_plane.decisions.colours import APPS, Colour, Refusal, ReleaseState, app_service
from scripts.control_plane.docker import WATCHER
from scripts.control_plane.records import EventKind
from scripts.control_plane.runbook import Failure
from scripts.control_plane.waits import Watch, colour_readiness_now, wait_colour_ready, wait_tasks_gone

USAGE = (
    "usage: bluegreen.sh deploy [IMAGE_TAG] | switch | rollback | finish | status | canary [OPTIONS] "
    "| share PERCENT [--allow VALUE]..."
)


def run(ctx: Context, args: Sequence[str]) -> None:
    subcommands: dict[str, Callable[[Context, Sequence[str]], None]] = {
        "deploy": deploy,
        "switch": switch,
        "rollback": rollback,
        "finish": finish,
        "status": status,
        "canary": lambda ctx, args: canary_command.run_canary(ctx, args, live_set=live_set),
        "share": canary_command.share,
    }
    ctx.require_docker()
    if ctx.docker.service(ctx.settings.nginx_service) is None:
        raise Failure(f"stack {ctx.stack} is not deployed (make up)")
    subcommand = subcommands.get(args[0] if args else "")
    if subcommand is None:
        raise Failure(USAGE)
    ctx.verdict.details["subcommand"] = args[0]
    subcommand(ctx, args[1:])


def replicas_of(ctx: Context, service: str) -> int:
    found = ctx.docker.service(service)
    if found is None:
        raise Failure(f"no service {service}")
    return found.replicas or 0


def smoke_check(ctx: Context, port: int) -> bool:
    """The smoke checks, run inside every Nginx task against PORT: 8082 is what users get, 8081 the idle
    colour. No Nginx task on this node means nothing was checked: that is no pass."""
    containers = ctx.docker.containers(ctx.settings.nginx_service)
    if not containers:
        ctx.log("no running nginx task on this node to check through")
        return False
    django = ctx.docker.service(ctx.service_name("django"))
    host = edge.django_public_host(django.env if django is not None else ())
    for container in containers:
        for check in edge.SMOKE_CHECKS:
            url = f"http://127.0.0.1:{port}{check.path}"
            result = ctx.docker.edge_probe(container, host=host, url=url, json_body=check.json_body)
            if result.returncode != 0:
                ctx.runbook.relay(result.stderr)
                return False
    return True


def deploy(ctx: Context, args: Sequence[str]) -> None:
    tag = args[0] if args else ""
    state = ctx.release_state()
    live, idle = state.live, state.idle
    replicas = replicas_of(ctx, app_service(ctx.stack, "django", live))
    if replicas_of(ctx, app_service(ctx.stack, "django", idle)) != 0:
        ctx.log(f"note: {idle} still runs a release (a candidate, or the previous one not finished); deploying over it")
    built = {} if tag else ctx.images()
    targets = [app_service(ctx.stack, app, idle) for app in APPS]
    ctx.verdict.details.update({"live_colour": live, "candidate_colour": idle, "replicas": replicas})
    watch = Watch(ctx, targets)
    watch.start()
    deployed: dict[str, str] = {}
    for app, target in zip(APPS, targets, strict=True):
        image = ctx.image_reference(app, tag) if tag else built[f"{app.upper()}_IMAGE"]
        problem = ctx.image_problem(image)
        if problem is not None:
            raise Failure(problem)
        running = ctx.docker.service(app_service(ctx.stack, app, live))
        ctx.log(f"starting {app}-{idle}: {image} x{replicas} (live: {app}-{live} {running.image if running else ''})")
        ctx.docker.service_image_set(target, image, replicas=replicas)
        deployed[target] = image
        ctx.events.emit(EventKind.UPDATE_STARTED, service=target, image=image, replicas=replicas)
        watch.announced(target)
    if not ctx.dry_run:
        with ctx.timer.phase("ready"):
            wait_colour_ready(ctx, idle, replicas, watch=watch, images=deployed)
        ctx.log(f"{idle} is healthy and in rotation on the preview listener; smoke-checking it through Nginx")
        with ctx.timer.phase("smoke_checks"):
            if not smoke_check(ctx, edge.PREVIEW_PORT):
                raise Failure(
                    f"{idle} fails its smoke checks through Nginx's preview; not a candidate (users still on {live})"
                )
            # The new release migrated before its tasks turned healthy: the old code must still work on that schema.
            if not smoke_check(ctx, edge.LIVE_PORT):
                raise Failure(
                    f"after the new release's migrations the live colour {live} fails its smoke checks: the "
                    "migration is not backward compatible; do not switch (README: expand/contract)"
                )
    else:
        ctx.log(f"dry run: not waiting for {idle} to be healthy and in rotation, no smoke checks; then:")
    ctx.docker.service_labels_add(ctx.settings.nginx_service, {colours.CANDIDATE_LABEL: idle})
    if ctx.dry_run:
        ctx.verdict.outcome = "dry_run"
        return
    ctx.log(f"deployed {idle} beside {live}; next: bluegreen.sh switch")
    ctx.verdict.outcome = "deployed"


def live_set(ctx: Context, colour: Colour, *, previous: Colour, kind: EventKind) -> None:
    """Point every running Nginx task (of this node, or of every node in PARTSCAT_NODE_HOSTS) at COLOUR, then
    record it in the swarm."""
    containers = ctx.docker.containers(ctx.settings.nginx_service)
    if not containers:
        raise Failure("no running nginx task found (on a cluster, set PARTSCAT_NODE_HOSTS: cluster.sh env)")
    started = ctx.clock.monotonic()
    for container in containers:
        result = ctx.docker.exec_change(container, ["python3", WATCHER, "live", colour])
        if result.returncode != 0:
            raise Failure(
                f"nginx task {container.id} did not switch to {colour} "
                "(no task of it in rotation? run bluegreen.sh status)"
            )
    seconds = ctx.clock.monotonic() - started
    ctx.verdict.phases["switch"] = round(seconds, 3)
    if not ctx.dry_run:
        ctx.log(f"new requests go to {colour} ({len(containers)} nginx task(s), {int(seconds)}s)")
    ctx.events.emit(kind, previous=previous, live=colour, nginx_tasks=len(containers), seconds=round(seconds, 3))
    since = dt.datetime.fromtimestamp(ctx.clock.time(), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    # Service labels are not part of the task template: changing them restarts nothing. Each Nginx task ended
    # any canary when it switched (lua/edge.lua): so do the labels.
    ctx.docker.service_labels_add(
        ctx.settings.nginx_service,
        {
            colours.LIVE_LABEL: colour,
            colours.SINCE_LABEL: since,
            colours.CANARY_LABEL: "0",
            colours.CANARY_ALLOW_LABEL: "",
        },
    )
    ctx.verdict.details.update({"previous_colour": previous, "live_colour": colour})
    ctx.verdict.outcome = "dry_run" if ctx.dry_run else "switched"


def refuse(ctx: Context, refusal: Refusal) -> None:
    ctx.verdict.outcome = "refused"
    raise Failure(refusal.reason)


def switch(ctx: Context, _args: Sequence[str]) -> None:
    state = ctx.release_state()
    readiness = None
    if state.candidate is not None:
        replicas = replicas_of(ctx, app_service(ctx.stack, "django", state.candidate))
        readiness = colour_readiness_now(ctx, state.candidate, replicas)
        ctx.verdict.details["readiness"] = readiness
    decision = colours.switch_decision(state, readiness=readiness)
    if isinstance(decision, Refusal):
        refuse(ctx, decision)
        return
    if decision.note:
        ctx.log(decision.note)
    live_set(ctx, decision.target, previous=state.live, kind=EventKind.SWITCH)


def rollback(ctx: Context, _args: Sequence[str]) -> None:
    state = ctx.release_state()
    decision = colours.rollback_decision(state)
    if isinstance(decision, Refusal):
        refuse(ctx, decision)
        return
    live_set(ctx, decision.target, previous=state.live, kind=EventKind.ROLLBACK)


def finish(ctx: Context, _args: Sequence[str]) -> None:
    state = ctx.release_state()
    if state.canary_percent or state.canary_allow:
        # The colour finish retires is the candidate a share of users is on.
        refuse(
            ctx, Refusal(f"a canary is in progress on {state.idle}: run bluegreen.sh canary, switch or rollback first")
        )
    old = state.idle
    names = [app_service(ctx.stack, app, old) for app in APPS]
    services = ctx.docker.services(names)
    targets = colours.finish_targets(ctx.stack, state, {name: service.replicas for name, service in services.items()})
    watch = Watch(ctx, names)
    watch.start()
    for target in targets:
        ctx.docker.service_scale(target, 0)
        ctx.events.emit(EventKind.SCALE, service=target, replicas=0)
    ctx.verdict.details.update({"retired_colour": old, "scaled_to_zero": list(targets)})
    if ctx.dry_run:
        ctx.log(f"dry run: not waiting for the {old} tasks to stop")
        ctx.verdict.outcome = "dry_run"
        return
    # Its tasks drain and stop gracefully (no user traffic reaches them any more).
    with ctx.timer.phase("drain"):
        wait_tasks_gone(ctx, names, label=old, watch=watch)
    ctx.log(f"retired {old}; {state.live} serves alone")
    ctx.verdict.outcome = "finished"


def status_lines(
    state: ReleaseState,
    *,
    stack: str,
    images: dict[str, str],
    replicas: dict[str, str],
    peers: dict[str, int] | None,
) -> list[str]:
    """bluegreen.sh status's text: `peers` None when no Nginx task's rotation could be read ('?')."""
    lines = [f"live:       {state.live} since {state.live_since}", f"candidate:  {state.candidate or ''}"]
    canary = f"{state.canary_percent} % of users on {state.idle}" if state.canary_percent else "none"
    if state.canary_allow:
        canary += f"; X-Canary {', '.join(state.canary_allow)} always on {state.idle}"
    thresholds = state.canary_thresholds or f"{Thresholds().label()} (defaults)"
    lines += [f"canary:     {canary}", f"thresholds: {thresholds}"]
    for colour in colours.COLOURS:
        lines.append(f"{colour}{' (live)' if colour == state.live else ''}")
        for app in APPS:
            service = app_service(stack, app, colour)
            in_rotation = "?" if peers is None else str(peers.get(f"{app}-{colour}", 0))
            lines.append(
                f"  {app:<8} {images.get(service, ''):<44} healthy/desired {replicas.get(service, ''):<6} "
                f"in nginx rotation {in_rotation}"
            )
    return lines


def status(ctx: Context, _args: Sequence[str]) -> None:
    state = ctx.release_state()
    names = [app_service(ctx.stack, app, colour) for colour in colours.COLOURS for app in APPS]
    services = ctx.docker.services(names)
    rows = {row.name: row.replicas for row in ctx.docker.stack_services(ctx.stack)}
    containers = ctx.docker.containers(ctx.settings.nginx_service)
    rotation = ctx.docker.rotation(containers[0]) if containers else None
    peers = {name: len(found) for name, found in rotation.items()} if rotation is not None else None
    images = {name: service.image for name, service in services.items()}
    for line in status_lines(state, stack=ctx.stack, images=images, replicas=rows, peers=peers):
        ctx.runbook.print(line)
