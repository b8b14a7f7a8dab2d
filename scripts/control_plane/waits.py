"""The polling loops, one each, and the watch that turns what a loop sees into events: an update (or a
rollback) ending (lib.sh wait_for_update), a stack converging (wait_stack_converged), a colour turning
healthy and in rotation (bluegreen.sh wait_colour_ready), a colour's tasks gone (bluegreen.sh finish).

Each loop reads through the Docker adapter and decides with the pure functions of decisions/; the clock
is injected, so the tests run the loops with a clock that only pretends to sleep.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scripts.control_plane.context import Context
from scripts.control_plane.decisions import colours, convergence, task_events, update_state
from scripts.control_plane.decisions.colours import Colour
from scripts.control_plane.decisions.convergence import Convergence
from scripts.control_plane.decisions.update_state import UpdateKind, UpdateOutcome
from scripts.control_plane.records import Container, EventKind, Rotation, Service, Task, UpdateStatus, same_image
from scripts.control_plane.runbook import Failure
from scripts.control_plane.settings import seconds_text
from scripts.control_plane.verdict import JsonValue

# The convergence and readiness loops' pace (lib.sh, bluegreen.sh).
STACK_POLL_SECONDS = 2.0
FINISH_POLL_SECONDS = 1.0


class Watch:
    """Turns what the loops see into events: tasks started, healthy and stopped (the watched services' tasks,
    or the whole stack's), peers in and out of one Nginx task's rotation, and update states. Best effort:
    a look that fails records nothing. Takes its baseline at `start()`, before the change it watches."""

    def __init__(self, ctx: Context, services: Sequence[str] | None = None) -> None:
        self.ctx = ctx
        self.services = list(services) if services is not None else None
        self.enabled = ctx.events.path is not None
        self.tasks: dict[str, Task] | None = None
        self.edge: tuple[Container, Rotation | None] | None = None
        self.updates: dict[str, UpdateStatus | None] = {}
        self._announced: set[str] = set()

    def start(self) -> None:
        """The baseline, before the change: tasks, rotation, and the update state of each watched service."""
        if not self.enabled:
            return
        docker = self.ctx.docker
        names = self.services
        if names is None:
            names = [row.name for row in docker.stack_services(self.ctx.stack)]
        self.look(docker.services(names))

    def announced(self, service: str) -> None:
        """The command recorded this service's update_started itself (when it asked for the update, which
        may end between two looks): the watch does not record it again when it sees the update going."""
        self._announced.add(service)

    def look(self, services: Mapping[str, Service] | None = None, tasks: Sequence[Task] | None = None) -> None:
        if not self.enabled:
            return
        docker = self.ctx.docker
        if tasks is None:
            tasks = (
                docker.service_tasks(self.services) if self.services is not None else docker.stack_tasks(self.ctx.stack)
            )
        for event in task_events.task_events(self.tasks, tasks):
            self.ctx.events.record(event)
        self.tasks = {task.id: task for task in tasks}
        self._look_at_edge()
        for name, service in (services or {}).items():
            if name in self.updates:
                for event in update_state.update_events(name, self.updates[name], service.update_status):
                    if event.kind is EventKind.UPDATE_STARTED and name in self._announced:
                        continue
                    self.ctx.events.record(event)
            self.updates[name] = service.update_status

    def _look_at_edge(self) -> None:
        containers = self.ctx.docker.containers(self.ctx.settings.nginx_service)
        if not containers:
            return
        container = containers[0]
        rotation = self.ctx.docker.rotation(container)
        # Another Nginx task (its update) has its own view: it becomes the baseline.
        if self.edge is not None and self.edge[0] == container:
            for event in task_events.rotation_events(self.edge[1], rotation):
                self.ctx.events.record(event)
        self.edge = (container, rotation)


def settle_crowded_slots(ctx: Context, service: str, *, timeout: float) -> None:
    """After an update or rollback ended: if Swarm left a slot with two tasks meant to run
    (convergence.crowded_slots), a no-op update has its updater keep one; wait until it did."""
    crowded = convergence.crowded_slots(service, ctx.docker.service_tasks([service], desired_running=True))
    if not crowded:
        return
    ctx.log(
        f"Swarm left more than one task in {', '.join(crowded)} (a failed task restarted beside the rollback's); "
        "a no-op update has its updater keep one"
    )
    slots: list[JsonValue] = list(crowded)
    ctx.verdict.details["crowded_slots"] = slots
    ctx.docker.service_update_noop(service)
    if ctx.dry_run:
        return
    deadline = ctx.clock.monotonic() + timeout
    while convergence.crowded_slots(service, ctx.docker.service_tasks([service], desired_running=True)):
        if ctx.clock.monotonic() >= deadline:
            raise Failure(f"{service} still runs more than one task in a slot after {seconds_text(timeout)}s")
        ctx.clock.sleep(ctx.settings.update_poll)


@dataclass(frozen=True)
class UpdateWait:
    outcome: UpdateOutcome
    status: UpdateStatus | None

    @property
    def state(self) -> str:
        return self.status.state if self.status is not None else ""

    @property
    def message(self) -> str:
        return self.status.message if self.status is not None else ""


def wait_for_update(ctx: Context, service: str, *, timeout: float, watch: Watch) -> UpdateWait:
    """Poll SERVICE's update (or rollback) every UPDATE_POLL_SECONDS until it ends or `timeout` passed, and
    record how it ended in the verdict: the outcome, Swarm's state and message, and lib.sh wait_for_update's
    code (0 completed, 10 rolled back, 11 paused, 12 timed out)."""
    deadline = ctx.clock.monotonic() + timeout
    while True:
        ctx.clock.sleep(ctx.settings.update_poll)
        current = ctx.docker.service(service)
        if current is None:
            raise Failure(f"no service {service}")
        watch.look({service: current})
        passed = ctx.clock.monotonic() >= deadline
        outcome = update_state.update_outcome(current.update_status, deadline_passed=passed)
        if outcome is not None:
            ended = UpdateWait(outcome, current.update_status)
            ctx.verdict.outcome = outcome.name.lower()
            ctx.verdict.details.update(
                {"update_state": ended.state, "update_message": ended.message, "wait_code": int(outcome)}
            )
            return ended


def stack_convergence_now(ctx: Context, *, since: int, watch: Watch) -> Convergence:
    rows = ctx.docker.stack_services(ctx.stack)
    services = ctx.docker.services(row.name for row in rows)
    tasks = ctx.docker.stack_tasks(ctx.stack)
    watch.look(services, tasks)
    return convergence.stack_convergence(stack=ctx.stack, rows=rows, services=services, tasks=tasks, since=since)


def wait_stack_converged(ctx: Context, *, since: int, timeout: float, watch: Watch) -> str | None:
    """Wait until every service runs all its replicas healthy, on its image, and no update started since
    `since` is still going; None then, else why not (an update rolled back or paused: at once)."""
    deadline = ctx.clock.monotonic() + timeout
    # The orchestrator starts updates asynchronously: give it a moment before the first look.
    ctx.clock.sleep(STACK_POLL_SECONDS)
    while True:
        state = stack_convergence_now(ctx, since=since, watch=watch)
        if state.failed:
            return f"update failed: {'; '.join(state.failed)}"
        if not state.pending:
            return None
        if ctx.clock.monotonic() >= deadline:
            return f"not converged after {seconds_text(timeout)}s: {' '.join(state.pending)}"
        ctx.clock.sleep(STACK_POLL_SECONDS)


def colour_readiness_now(ctx: Context, colour: Colour, replicas: int) -> str | None:
    """Why COLOUR is not ready yet (None: ready), from the stack's services and every Nginx task's rotation."""
    if replicas <= 0:
        return colours.colour_readiness(stack=ctx.stack, colour=colour, replicas=replicas, rows=[], rotations=[])
    rows = ctx.docker.stack_services(ctx.stack)
    rotations = [
        ctx.docker.rotation(container) or {} for container in ctx.docker.containers(ctx.settings.nginx_service)
    ]
    return colours.colour_readiness(stack=ctx.stack, colour=colour, replicas=replicas, rows=rows, rotations=rotations)


def _stale_tasks(ctx: Context, images: Mapping[str, str]) -> bool:
    """Whether a task meant to run is not on its service's new image: an idle colour that ran a release
    already counts healthy and in rotation before its start-first update has replaced a task."""
    if not images:
        return False
    tasks = ctx.docker.service_tasks(list(images), desired_running=True)
    # A replicated task's name is <service>.<slot>.
    return any(not same_image(task.image, images[task.name.rsplit(".", 1)[0]]) for task in tasks)


def wait_colour_ready(
    ctx: Context, colour: Colour, replicas: int, *, watch: Watch, images: Mapping[str, str] | None = None
) -> None:
    """Until both apps of COLOUR run REPLICAS healthy tasks, all in every Nginx task's rotation, and (IMAGES:
    service -> image) every task meant to run is on the new image; stops at once when Swarm rolled the
    colour's update back or paused it."""
    timeout = ctx.settings.ready_timeout
    deadline = ctx.clock.monotonic() + timeout
    services = [colours.app_service(ctx.stack, app, colour) for app in colours.APPS]
    while colour_readiness_now(ctx, colour, replicas) is not None or _stale_tasks(ctx, images or {}):
        inspected = ctx.docker.services(services)
        watch.look(inspected)
        for app, name in zip(colours.APPS, services, strict=True):
            status = inspected[name].update_status if name in inspected else None
            if update_state.status_kind(status) in (UpdateKind.ROLLED_BACK, UpdateKind.PAUSED):
                state = status.state if status is not None else ""
                raise Failure(f"{app}-{colour} did not turn healthy (update {state}); the live colour is untouched")
        if ctx.clock.monotonic() >= deadline:
            raise Failure(f"{colour} not healthy and in rotation after {seconds_text(timeout)}s")
        ctx.clock.sleep(STACK_POLL_SECONDS)


def wait_tasks_gone(ctx: Context, services: Sequence[str], *, label: str, watch: Watch) -> None:
    """Until no container of the services runs on this node (they drain and stop gracefully)."""
    timeout = ctx.settings.ready_timeout
    deadline = ctx.clock.monotonic() + timeout
    while any(ctx.docker.containers(service) for service in services):
        watch.look()
        if ctx.clock.monotonic() >= deadline:
            raise Failure(f"{label} tasks still running after {seconds_text(timeout)}s")
        ctx.clock.sleep(FINISH_POLL_SECONDS)
    watch.look()
