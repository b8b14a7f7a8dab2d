"""Whether a deploy converged (lib.sh wait_stack_converged's reading of one poll): every service runs all its
replicas healthy, no task meant to run is on an old image (stack_stale_services), and no update started
by this deploy is still going, rolled back or paused. Also which services `deploy` must put on which image."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scripts.control_plane.decisions.update_state import UpdateKind, status_kind
from scripts.control_plane.records import Service, ServiceRow, Task, same_image


def short_name(stack: str, service: str) -> str:
    """partscat_django-blue -> django-blue, as the bash printed service names in its lists."""
    return service.removeprefix(f"{stack}_")


def tasks_of(service: str, tasks: Sequence[Task]) -> list[Task]:
    """A service's tasks among a stack's: their slot names are <service>.<slot or node id>."""
    return [task for task in tasks if task.name.startswith(f"{service}.")]


@dataclass(frozen=True)
class Convergence:
    """One look at the stack: what is still on its way, and what failed (an update rolled back or paused)."""

    pending: tuple[str, ...]
    failed: tuple[str, ...]

    @property
    def converged(self) -> bool:
        return not self.pending and not self.failed


def update_progress(stack: str, services: Sequence[Service], *, since: int) -> tuple[list[str], list[str]]:
    """Updates started at or after `since` (epoch seconds): the pending ones as name(state), the rolled back
    or paused ones as 'full name: state: message'. An update from before this deploy is not its business."""
    pending: list[str] = []
    failed: list[str] = []
    for service in services:
        status = service.update_status
        if status is None:
            continue
        started = int(status.started_at) if status.started_at is not None else 0
        if started < since:
            continue
        kind = status_kind(status)
        if kind is UpdateKind.PENDING:
            pending.append(f"{short_name(stack, service.name)}({status.state})")
        elif kind in (UpdateKind.ROLLED_BACK, UpdateKind.PAUSED):
            failed.append(f"{service.name}: {status.state}: {status.message}")
    return pending, failed


def crowded_slots(service: str, tasks: Sequence[Task]) -> list[str]:
    """The slots of a replicated service that hold more than one task meant to run.

    Swarm leaves one behind after a start-first update rolls back when the failed new task exits: its restart
    supervisor starts a replacement in the slot (it does not look at what else the slot holds) while the
    rollback starts a task there too. The service then runs a task more than its replicas until its next
    update, whose updater finds the slot dirty and keeps one task (swarmkit, update/updater.go: isSlotDirty,
    useExistingTask); nothing else retires it."""
    counts = Counter(task.name for task in tasks_of(service, tasks) if task.desired_state == "running")
    return sorted(name for name, count in counts.items() if count > 1)


def unhealthy_services(stack: str, rows: Sequence[ServiceRow]) -> list[str]:
    """Services running fewer healthy tasks than desired, as name(running/desired) (stack_unhealthy_services)."""
    return [f"{short_name(stack, row.name)}({row.replicas})" for row in rows if row.running != row.desired]


def stale_services(stack: str, services: Sequence[Service], tasks: Sequence[Task]) -> list[str]:
    """Services with a task meant to run that is not on the service's image, as name(old image)
    (stack_stale_services). `tasks` are the stack's tasks meant to run, listed with --no-trunc, so both sides
    are full references (a registry digest included) and compare as they are."""
    stale = []
    for service in services:
        running = [task for task in tasks_of(service.name, tasks) if task.desired_state == "running"]
        if any(task.image != service.image for task in running):
            stale.append(f"{short_name(stack, service.name)}(old image)")
    return stale


def stack_convergence(
    *, stack: str, rows: Sequence[ServiceRow], services: Mapping[str, Service], tasks: Sequence[Task], since: int
) -> Convergence:
    """The stack's state in one poll: rows from `docker stack services`, each service inspected, the stack's
    tasks meant to run. Pending lists updates first, then unhealthy services, then stale ones, as lib.sh did."""
    inspected = [services[row.name] for row in rows if row.name in services]
    pending, failed = update_progress(stack, inspected, since=since)
    pending += unhealthy_services(stack, rows)
    pending += stale_services(stack, inspected, tasks)
    return Convergence(pending=tuple(pending), failed=tuple(failed))


# The image each service of stack.yml runs, by the variable deploy.sh gives it (deploy.sh enforce_images).
SERVICE_IMAGE_VARIABLES = (
    ("postgres", "POSTGRES_IMAGE"),
    ("redis", "REDIS_IMAGE"),
    ("redis-cache", "REDIS_IMAGE"),
    ("nginx", "NGINX_IMAGE"),
    ("edge-socket", "EDGE_SOCKET_IMAGE"),
    ("celery-worker", "DJANGO_IMAGE"),
    ("celery-beat", "DJANGO_IMAGE"),
    ("django-blue", "DJANGO_BLUE_IMAGE"),
    ("django-green", "DJANGO_GREEN_IMAGE"),
    ("fastapi-blue", "FASTAPI_BLUE_IMAGE"),
    ("fastapi-green", "FASTAPI_GREEN_IMAGE"),
)


@dataclass(frozen=True)
class ImagePlan:
    """What deploy puts on which service: `docker stack deploy` judges an image changed by its own
    com.docker.stack.image label, not by what the service runs, so after update.sh put another image on a
    service a deploy of the same build would leave it there."""

    updates: tuple[tuple[str, str], ...]
    missing: tuple[str, ...]


def image_plan(stack: str, variables: Mapping[str, str], services: Mapping[str, Service]) -> ImagePlan:
    """Each stack service whose image differs from the one this deploy asks for: (service, image)."""
    updates = []
    missing = []
    for name, variable in SERVICE_IMAGE_VARIABLES:
        service = f"{stack}_{name}"
        wanted = variables[variable]
        if service not in services:
            missing.append(service)
        # A deploy from a registry pins the digest (image:tag@sha256:...), and the idle colour is asked to keep what
        # it runs, digest and all: the tag is what is compared.
        elif not same_image(services[service].image, wanted):
            updates.append((service, wanted))
    return ImagePlan(updates=tuple(updates), missing=tuple(missing))
