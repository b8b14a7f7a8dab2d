"""Typed records of what Swarm reports, as the Docker adapter (docker.py) returns them.

Plain frozen dataclasses: the decision modules take these and nothing else, so they never see a CLI shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

# Task states from `docker service ps`'s CurrentState ("Running 6 minutes ago" -> "running"). A task stays
# "starting" until its healthcheck passes, so for the stack's services (each has one) "running" means healthy.
TASK_RUNNING = "running"
TASK_ENDED = frozenset({"shutdown", "complete", "failed", "rejected", "orphaned", "remove"})


@dataclass(frozen=True)
class UpdateStatus:
    """A service's UpdateStatus: Swarm's raw state (updating, completed, paused, rollback_started,
    rollback_completed, rollback_paused), its message, and when it started (epoch seconds; None if unset)."""

    state: str
    message: str
    started_at: float | None = None
    completed_at: float | None = None


@dataclass(frozen=True)
class SecretRef:
    """A secret mounted in a service's tasks: the file name under /run/secrets and the Swarm secret's name."""

    file_name: str
    secret_name: str


@dataclass(frozen=True)
class PublishedPort:
    target: int
    published: int | None
    protocol: str
    mode: str


@dataclass(frozen=True)
class Service:
    """One `docker service inspect` object: the spec that matters here and the last update's status."""

    id: str
    name: str
    image: str
    labels: Mapping[str, str] = field(default_factory=dict)
    # None for a global service (one task per node).
    replicas: int | None = None
    env: tuple[str, ...] = ()
    secrets: tuple[SecretRef, ...] = ()
    published_ports: tuple[PublishedPort, ...] = ()
    update_status: UpdateStatus | None = None
    # The image of the spec `docker service rollback` would return to; None when there is no previous spec.
    previous_image: str | None = None
    has_previous_spec: bool = False

    @property
    def is_global(self) -> bool:
        return self.replicas is None


@dataclass(frozen=True)
class ServiceRow:
    """One line of `docker service ls` / `docker stack services`: the CLI's running/desired task count
    (``replicas``, as "2/2"; Swarm counts a task with a healthcheck as running once it is healthy)."""

    id: str
    name: str
    image: str
    mode: str
    replicas: str
    ports: str = ""

    @property
    def running(self) -> str:
        return self.replicas.split("/", 1)[0]

    @property
    def desired(self) -> str:
        return self.replicas.split("/", 1)[-1]


@dataclass(frozen=True)
class Task:
    """One line of `docker service ps` / `docker stack ps` (with --no-trunc: full ids, images and errors)."""

    id: str
    # The task's slot name: <service>.<slot> for a replicated service, <service>.<node id> for a global one.
    name: str
    image: str
    node: str
    desired_state: str
    state: str
    state_text: str = ""
    error: str = ""

    @property
    def ended(self) -> bool:
        return self.state in TASK_ENDED


@dataclass(frozen=True)
class Node:
    id: str
    hostname: str
    state: str
    availability: str
    labels: Mapping[str, str] = field(default_factory=dict)
    role: str = ""


@dataclass(frozen=True)
class NodeRow:
    """One line of `docker node ls`: what its table shows (ManagerStatus "Leader", "Reachable" or "")."""

    id: str
    hostname: str
    status: str
    availability: str
    manager_status: str = ""
    engine_version: str = ""
    is_self: bool = False


@dataclass(frozen=True)
class Network:
    """One `docker network inspect` object: its subnets (IPAM) and labels."""

    id: str
    name: str
    driver: str
    subnets: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Container:
    """A running container (`docker ps` on its node), with its labels (com.docker.swarm.service.name...)."""

    id: str
    name: str
    image: str
    state: str
    status: str
    labels: Mapping[str, str] = field(default_factory=dict)
    # The Docker endpoint of the node it runs on (PARTSCAT_NODE_HOSTS); "" for this engine.
    host: str = ""
    node: str = ""
    # `docker ps`'s published ports ("127.0.0.1:5443->5443/tcp"); "" from an inspect.
    ports: str = ""

    @property
    def service(self) -> str:
        return self.labels.get("com.docker.swarm.service.name", "")


@dataclass(frozen=True)
class SwarmInfo:
    """`docker info`'s Swarm part: this engine's node id in the swarm, and whether it is a manager."""

    node_id: str
    local_node_state: str
    control_available: bool


@dataclass(frozen=True)
class Image:
    id: str
    repo_tags: tuple[str, ...] = ()
    # name@sha256:... for each registry repository it was pushed to or pulled from.
    repo_digests: tuple[str, ...] = ()


@dataclass(frozen=True)
class Volume:
    name: str
    driver: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Secret:
    id: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)


# What one Nginx task's watcher has in rotation (/tmp/nginx/upstreams.json): service (django-blue) -> peers.
Rotation = Mapping[str, tuple[str, ...]]


def same_image(one: str, other: str) -> bool:
    """The same repository and tag, whatever digest either pins (image:tag@sha256:...): Swarm pins the digest
    it resolved, and a deploy from a registry pins it too."""
    return one.partition("@")[0] == other.partition("@")[0]


class EventKind(StrEnum):
    """What the event log records (event_log.py); the markers a timeline of a change draws."""

    COMMAND_STARTED = "command_started"
    COMMAND_FINISHED = "command_finished"
    TASK_STARTED = "task_started"
    TASK_HEALTHY = "task_healthy"
    TASK_IN_ROTATION = "task_in_rotation"
    TASK_OUT_OF_ROTATION = "task_out_of_rotation"
    TASK_STOPPED = "task_stopped"
    UPDATE_STARTED = "update_started"
    UPDATE_ROLLBACK_STARTED = "update_rollback_started"
    UPDATE_PAUSED = "update_paused"
    UPDATE_ROLLED_BACK = "update_rolled_back"
    UPDATE_COMPLETED = "update_completed"
    STACK_DEPLOYED = "stack_deployed"
    STACK_CONVERGED = "stack_converged"
    SWITCH = "switch"
    ROLLBACK = "rollback"
    CANARY_STEP = "canary_step"
    CANARY_PROMOTE = "canary_promote"
    CANARY_SWITCH_BACK = "canary_switch_back"
    SCALE = "scale"
    EDGE_CONFIG = "edge_config"


EventValue = str | int | float | bool | None


@dataclass(frozen=True)
class Event:
    """One event before it is stamped and written: its kind and the facts that go with it."""

    kind: EventKind
    fields: Mapping[str, EventValue] = field(default_factory=dict)
