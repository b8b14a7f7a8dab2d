"""The one door to ``docker``: every command the control plane runs goes through ``Docker`` here.

It asks the CLI for JSON (``--format '{{json .}}'``, or an ``inspect``'s array) and returns the typed records of
records.py; nothing else in the package knows the CLI's shapes. Every command is printed before it runs
(``+ docker ...`` on stderr: the output reads as a runbook). A read is printed the first time it runs (a
polling loop repeats it silently; ``verbose`` prints every run); a change is printed every time, and in a dry
run it is printed and not run. What ran, or would have, is kept in ``changes`` for the verdict.

The command runs through an injected ``Runner``: ``subprocess_runner`` for real, a recording fake in tests.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Protocol

from scripts.control_plane.records import (
    Container,
    Image,
    Network,
    Node,
    NodeRow,
    PublishedPort,
    Rotation,
    SecretRef,
    Service,
    ServiceRow,
    SwarmInfo,
    Task,
    UpdateStatus,
    Volume,
)
from scripts.control_plane.runbook import Failure, Runbook, command_line

DOCKER = "docker"
JSON_FORMAT = "{{json .}}"
STACK_LABEL = "com.docker.stack.namespace"
SERVICE_LABEL = "com.docker.swarm.service.name"
# Where the upstream watcher of an Nginx task writes its probes and rotation (nginx/watcher_poll.py).
WATCHER = "/opt/nginx/upstream_watcher.py"
WATCHER_STATE = "/tmp/nginx/upstreams.json"
HTTP_PROBE = "/opt/healthcheck/http_probe.py"


# --- Running a command ---


class Output(StrEnum):
    """Where a command's output goes: kept for parsing, streamed to our stderr, or the terminal itself."""

    CAPTURE = "capture"
    STDERR = "stderr"
    TERMINAL = "terminal"


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str = ""
    stderr: str = ""


class Runner(Protocol):
    def __call__(
        self,
        argv: Sequence[str],
        *,
        stdin_text: str | None = None,
        stdin_path: Path | None = None,
        output: Output = Output.CAPTURE,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Completed: ...


def subprocess_runner(
    argv: Sequence[str],
    *,
    stdin_text: str | None = None,
    stdin_path: Path | None = None,
    output: Output = Output.CAPTURE,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> Completed:
    """Run a command for real. TERMINAL inherits our stdin, stdout and stderr (docker exec -it, a password
    on stdin); STDERR sends its stdout to our stderr (as `>&2` did); CAPTURE keeps both for parsing."""
    environ = dict(env) if env is not None else None
    try:
        if output is Output.TERMINAL:
            return Completed(subprocess.run(list(argv), cwd=cwd, env=environ, check=False).returncode)
        if stdin_path is not None:
            with stdin_path.open("rb") as stdin:
                return _run_captured(argv, stdin=stdin, output=output, cwd=cwd, env=environ)
        return _run_captured(argv, input_text=stdin_text, output=output, cwd=cwd, env=environ, timeout=timeout)
    except FileNotFoundError as error:
        return Completed(127, "", f"{argv[0]}: {error.strerror}")
    except subprocess.TimeoutExpired:
        # A node that is paused or cut off accepts the connection and never answers.
        return Completed(124, "", f"no answer within {timeout:g} s")


def _run_captured(
    argv: Sequence[str],
    *,
    output: Output,
    cwd: Path | None,
    env: dict[str, str] | None,
    stdin: int | IO[bytes] | None = None,
    input_text: str | None = None,
    timeout: float | None = None,
) -> Completed:
    if output is Output.STDERR:
        result = subprocess.run(
            list(argv), stdin=stdin, input=input_text, stdout=2, cwd=cwd, env=env, text=True, check=False
        )
        return Completed(result.returncode)
    if input_text is None and stdin is None:
        stdin = subprocess.DEVNULL
    result = subprocess.run(
        list(argv),
        stdin=stdin,
        input=input_text,
        capture_output=True,
        cwd=cwd,
        env=env,
        text=True,
        check=False,
        timeout=timeout,
    )
    return Completed(result.returncode, result.stdout, result.stderr)


@dataclass(frozen=True)
class Change:
    """A command that changes something: as printed, whether it ran (not in a dry run), its exit code."""

    command: str
    ran: bool
    returncode: int | None
    at: float


# --- The CLI's JSON shapes -> records ---

JsonObject = dict[str, object]


def _object(value: object) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _text(obj: JsonObject, key: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _int(obj: JsonObject, key: str) -> int | None:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _labels(value: object) -> dict[str, str]:
    return {str(key): str(item) for key, item in _object(value).items()}


def _time(value: object) -> float | None:
    """An RFC 3339 time from the Engine API as epoch seconds; None when unset (Go's zero time, year 1)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.year <= 1:
        return None
    return moment.timestamp()


def json_lines(text: str) -> list[JsonObject]:
    """`--format '{{json .}}'` output: one JSON object a line."""
    return [_object(json.loads(line)) for line in text.splitlines() if line.strip()]


def json_array(text: str) -> list[JsonObject]:
    """An `inspect` answer: a JSON array (``[]`` and an error when nothing matched)."""
    if not text.strip():
        return []
    return [_object(item) for item in _list(json.loads(text))]


def parse_update_status(value: object) -> UpdateStatus | None:
    if not isinstance(value, dict):
        return None
    status = _object(value)
    return UpdateStatus(
        state=_text(status, "State"),
        message=_text(status, "Message"),
        started_at=_time(status.get("StartedAt")),
        completed_at=_time(status.get("CompletedAt")),
    )


def parse_service(obj: JsonObject) -> Service:
    """One object of `docker service inspect`."""
    spec = _object(obj.get("Spec"))
    container = _object(_object(spec.get("TaskTemplate")).get("ContainerSpec"))
    mode = _object(spec.get("Mode"))
    replicas: int | None = None
    if "Replicated" in mode or "Global" not in mode:
        # The API leaves Replicas out only when nobody set it, and then it means 1.
        replicas = _int(_object(mode.get("Replicated")), "Replicas")
        replicas = 1 if replicas is None else replicas
    secrets = tuple(
        SecretRef(file_name=_text(_object(ref.get("File")), "Name"), secret_name=_text(ref, "SecretName"))
        for ref in (_object(item) for item in _list(container.get("Secrets")))
    )
    ports = tuple(
        PublishedPort(
            target=_int(port, "TargetPort") or 0,
            published=_int(port, "PublishedPort"),
            protocol=_text(port, "Protocol") or "tcp",
            mode=_text(port, "PublishMode") or "ingress",
        )
        for port in (_object(item) for item in _list(_object(spec.get("EndpointSpec")).get("Ports")))
    )
    previous = obj.get("PreviousSpec")
    previous_image = None
    if isinstance(previous, dict):
        previous_container = _object(_object(_object(previous).get("TaskTemplate")).get("ContainerSpec"))
        previous_image = _text(previous_container, "Image") or None
    return Service(
        id=_text(obj, "ID"),
        name=_text(spec, "Name"),
        image=_text(container, "Image"),
        labels=_labels(spec.get("Labels")),
        replicas=replicas,
        env=tuple(str(item) for item in _list(container.get("Env"))),
        secrets=secrets,
        published_ports=ports,
        update_status=parse_update_status(obj.get("UpdateStatus")),
        previous_image=previous_image,
        has_previous_spec=isinstance(previous, dict),
    )


def parse_service_row(obj: JsonObject) -> ServiceRow:
    """One line of `docker service ls` / `docker stack services` (Replicas "2/2", maybe "2/2 (max 1 per node)")."""
    replicas = _text(obj, "Replicas").split(" ", 1)[0]
    return ServiceRow(
        id=_text(obj, "ID"),
        name=_text(obj, "Name"),
        image=_text(obj, "Image"),
        mode=_text(obj, "Mode"),
        replicas=replicas,
        ports=_text(obj, "Ports"),
    )


def parse_task(obj: JsonObject) -> Task:
    """One line of `docker service ps` / `docker stack ps` (CurrentState "Running 6 minutes ago")."""
    current = _text(obj, "CurrentState")
    return Task(
        id=_text(obj, "ID"),
        # The table form indents a slot's older tasks with " \\_ "; the name is what follows.
        name=_text(obj, "Name").strip().removeprefix("\\_").strip(),
        image=_text(obj, "Image"),
        node=_text(obj, "Node"),
        desired_state=_text(obj, "DesiredState").lower(),
        state=current.split(" ", 1)[0].lower(),
        state_text=current,
        error=_text(obj, "Error"),
    )


def parse_node(obj: JsonObject) -> Node:
    """One object of `docker node inspect`."""
    spec = _object(obj.get("Spec"))
    return Node(
        id=_text(obj, "ID"),
        hostname=_text(_object(obj.get("Description")), "Hostname"),
        state=_text(_object(obj.get("Status")), "State"),
        availability=_text(spec, "Availability"),
        labels=_labels(spec.get("Labels")),
        role=_text(spec, "Role"),
    )


def parse_node_row(obj: JsonObject) -> NodeRow:
    """One line of `docker node ls`."""
    return NodeRow(
        id=_text(obj, "ID"),
        hostname=_text(obj, "Hostname"),
        status=_text(obj, "Status"),
        availability=_text(obj, "Availability"),
        manager_status=_text(obj, "ManagerStatus"),
        engine_version=_text(obj, "EngineVersion"),
        is_self=obj.get("Self") is True,
    )


def parse_network(obj: JsonObject) -> Network:
    """One object of `docker network inspect`."""
    config = _list(_object(obj.get("IPAM")).get("Config"))
    return Network(
        id=_text(obj, "Id"),
        name=_text(obj, "Name"),
        driver=_text(obj, "Driver"),
        subnets=tuple(_text(_object(item), "Subnet") for item in config),
        labels=_labels(obj.get("Labels")),
    )


def parse_container(obj: JsonObject) -> Container:
    """One line of `docker ps` (Labels as "k=v,k2=v2")."""
    labels: dict[str, str] = {}
    for item in _text(obj, "Labels").split(","):
        key, _, value = item.partition("=")
        if key:
            labels[key] = value
    return Container(
        id=_text(obj, "ID"),
        name=_text(obj, "Names"),
        image=_text(obj, "Image"),
        state=_text(obj, "State"),
        status=_text(obj, "Status"),
        labels=labels,
        ports=_text(obj, "Ports"),
    )


def parse_container_inspect(obj: JsonObject) -> Container:
    """One object of `docker container inspect` (Name "/name", State.Status running, paused, exited...)."""
    config, state = _object(obj.get("Config")), _object(obj.get("State"))
    return Container(
        id=_text(obj, "Id"),
        name=_text(obj, "Name").removeprefix("/"),
        image=_text(config, "Image"),
        state=_text(state, "Status"),
        status=_text(state, "Status"),
        labels=_labels(config.get("Labels")),
    )


def parse_swarm_info(obj: JsonObject) -> SwarmInfo:
    """`docker info --format '{{json .Swarm}}'`."""
    return SwarmInfo(
        node_id=_text(obj, "NodeID"),
        local_node_state=_text(obj, "LocalNodeState"),
        control_available=obj.get("ControlAvailable") is True,
    )


def parse_image(obj: JsonObject) -> Image:
    return Image(
        id=_text(obj, "Id"),
        repo_tags=tuple(str(tag) for tag in _list(obj.get("RepoTags"))),
        repo_digests=tuple(str(digest) for digest in _list(obj.get("RepoDigests"))),
    )


# What the legacy builder (no buildx plugin here) says on every `docker build`; real errors still show.
BUILDER_NOISE = ("DEPRECATED: The legacy builder", "Install the buildx component", "docs.docker.com/go/buildx")


def builder_noise_drop(text: str) -> str:
    """`docker build`'s stderr without the legacy builder's deprecation banner and blank lines."""
    kept = [line for line in text.splitlines() if line.strip() and not any(noise in line for noise in BUILDER_NOISE)]
    return "".join(f"{line}\n" for line in kept)


def parse_volume(obj: JsonObject) -> Volume:
    return Volume(name=_text(obj, "Name"), driver=_text(obj, "Driver"), labels=_labels(obj.get("Labels")))


def parse_rotation(obj: JsonObject) -> dict[str, tuple[str, ...]]:
    """The watcher's upstreams.json: per service (django-blue), the peers in rotation (address:port)."""
    return {name: tuple(str(peer) for peer in _list(_object(state).get("in_rotation"))) for name, state in obj.items()}


# A container by id on this engine, or a Container found on its node (docker.containers with node_hosts).
ContainerRef = Container | str
# How long a node may take to answer `docker --host <node> ...` before it counts as unreachable.
NODE_TIMEOUT = 10.0
# A registry that does not answer makes `docker pull` retry for minutes.
PULL_TIMEOUT = 300.0


def _deadline(args: Sequence[str], timeout: float | None) -> float | None:
    """Every command sent to another node's engine (`--host`) gets NODE_TIMEOUT unless it names its own: a node
    that froze after it was listed must not hang the command that switches the others."""
    if timeout is None and args[:1] == ("--host",):
        return NODE_TIMEOUT
    return timeout


def _exec_on(container: ContainerRef, options: Sequence[str] = ()) -> list[str]:
    """`exec [options] <id>`, through the container's own node when it was found on one."""
    if isinstance(container, str):
        return ["exec", *options, container]
    where = ["--host", container.host] if container.host else []
    return [*where, "exec", *options, container.id]


# --- The adapter ---


class Docker:
    """Runs docker through ``runner``, prints each command on ``runbook``, and returns records."""

    def __init__(
        self,
        *,
        runner: Runner,
        runbook: Runbook,
        dry_run: bool = False,
        verbose: bool = False,
        clock: Callable[[], float] = time.time,
        node_hosts: Mapping[str, str] | None = None,
    ) -> None:
        self.runner = runner
        self.node_hosts = dict(node_hosts or {})
        self.runbook = runbook
        self.dry_run = dry_run
        self.verbose = verbose
        self.clock = clock
        self.changes: list[Change] = []
        self._printed: set[tuple[str, ...]] = set()
        # Set by on(): the engine every command goes to (`--host`), each command's deadline there, and an
        # environment of its own (None: the process's; build drops a DOCKER_HOST that names a cluster node).
        self.host = ""
        self.timeout: float | None = None
        self.env: Mapping[str, str] | None = None

    def on(self, host: str = "", *, timeout: float | None = None, env: Mapping[str, str] | None = None) -> Docker:
        """The same adapter aimed elsewhere: `--host HOST` before every command (a cluster node's own engine),
        `timeout` for each of them (default NODE_TIMEOUT there), and/or the environment `docker` runs in (this
        engine without a DOCKER_HOST that names a node). Printing, the dry run and the changes are shared."""
        other = copy.copy(self)
        other.host = host or self.host
        other.timeout = timeout if timeout is not None else self.timeout
        other.env = env if env is not None else self.env
        return other

    def _argv(self, args: Sequence[str]) -> tuple[str, ...]:
        return (DOCKER, "--host", self.host, *args) if self.host else (DOCKER, *args)

    # The two ways a command runs.

    def _read(self, *args: str, check: bool = True, timeout: float | None = None) -> Completed:
        argv = self._argv(args)
        if self.verbose or argv not in self._printed:
            self._printed.add(argv)
            self.runbook.command(argv)
        deadline = _deadline(argv[1:], timeout if timeout is not None else self.timeout)
        result = self.runner(argv, timeout=deadline, env=self.env)
        if check and result.returncode != 0:
            raise Failure(
                f"{command_line(argv)} failed (exit {result.returncode}): {result.stderr.strip()}",
                exit_code=result.returncode,
            )
        return result

    def _change(
        self,
        *args: str,
        check: bool = True,
        note: str = "",
        stdin_text: str | None = None,
        stdin_path: Path | None = None,
        output: Output = Output.CAPTURE,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        shown: Sequence[str] | None = None,
        relay: Callable[[str], str] | None = None,
    ) -> Completed:
        """`shown`: the arguments as printed and kept for the verdict, when the real ones hold a secret;
        `relay`: what of the command's stderr is shown (the build drops the legacy builder's banner)."""
        argv = self._argv(args)
        printed = self._argv(shown) if shown is not None else argv
        self.runbook.command(printed, dry_run=self.dry_run, note=note)
        if self.dry_run:
            self.changes.append(Change(command_line(printed), ran=False, returncode=None, at=self.clock()))
            return Completed(0)
        result = self.runner(
            argv,
            stdin_text=stdin_text,
            stdin_path=stdin_path,
            output=output,
            cwd=cwd,
            env=env if env is not None else self.env,
            timeout=_deadline(argv[1:], self.timeout),
        )
        self.changes.append(Change(command_line(printed), ran=True, returncode=result.returncode, at=self.clock()))
        # `>/dev/null` in the bash: the output (an id) is dropped; what docker says on stderr is shown.
        self.runbook.relay(relay(result.stderr) if relay is not None else result.stderr)
        if check and result.returncode != 0:
            raise Failure(f"{command_line(printed)} failed (exit {result.returncode})", exit_code=result.returncode)
        return result

    # Reads: the engine, the swarm, the stack.

    def swarm_info(self) -> SwarmInfo | None:
        """This engine's swarm membership; None when the daemon does not answer."""
        result = self._read("info", "--format", "{{json .Swarm}}", check=False)
        if result.returncode != 0 or not result.stdout.strip():
            return None
        return parse_swarm_info(_object(json.loads(result.stdout)))

    def stack_names(self) -> list[str]:
        return [_text(row, "Name") for row in json_lines(self._read("stack", "ls", "--format", JSON_FORMAT).stdout)]

    def stack_services(self, stack: str) -> list[ServiceRow]:
        """The stack's services with their running/desired counts (none when the stack does not exist)."""
        result = self._read("stack", "services", stack, "--format", JSON_FORMAT)
        return [parse_service_row(row) for row in json_lines(result.stdout)]

    def stack_service_rows(self, stack: str) -> list[ServiceRow]:
        """Every service labelled as the stack's (`docker service ls --filter label=...`)."""
        result = self._read("service", "ls", "--filter", f"label={STACK_LABEL}={stack}", "--format", JSON_FORMAT)
        return [parse_service_row(row) for row in json_lines(result.stdout)]

    def services(self, names: Iterable[str]) -> dict[str, Service]:
        """`docker service inspect` of each name that exists, by name (missing ones are left out)."""
        wanted = list(dict.fromkeys(names))
        if not wanted:
            return {}
        result = self._read("service", "inspect", *wanted, check=False)
        try:
            found = [parse_service(obj) for obj in json_array(result.stdout)]
        except json.JSONDecodeError as error:
            raise Failure(f"docker service inspect answered no JSON: {error}") from error
        if result.returncode != 0 and not found and "no such service" not in result.stderr.lower():
            raise Failure(f"docker service inspect failed (exit {result.returncode}): {result.stderr.strip()}")
        return {service.name: service for service in found}

    def service(self, name: str) -> Service | None:
        return self.services([name]).get(name)

    def service_tasks(self, names: Sequence[str], *, desired_running: bool = False) -> list[Task]:
        """The tasks of the services (history included unless desired_running); [] when one does not exist."""
        if not names:
            return []
        filters = ["--filter", "desired-state=running"] if desired_running else []
        result = self._read("service", "ps", "--no-trunc", *filters, "--format", JSON_FORMAT, *names, check=False)
        return [parse_task(row) for row in json_lines(result.stdout)] if result.returncode == 0 else []

    def stack_tasks(self, stack: str, *, desired_running: bool = False) -> list[Task]:
        filters = ["--filter", "desired-state=running"] if desired_running else []
        result = self._read("stack", "ps", stack, "--no-trunc", *filters, "--format", JSON_FORMAT, check=False)
        return [parse_task(row) for row in json_lines(result.stdout)] if result.returncode == 0 else []

    def node_ids(self) -> list[str]:
        return [_text(row, "ID") for row in json_lines(self._read("node", "ls", "--format", JSON_FORMAT).stdout)]

    def nodes(self, ids: Sequence[str]) -> list[Node]:
        if not ids:
            return []
        return [parse_node(obj) for obj in json_array(self._read("node", "inspect", *ids).stdout)]

    def node(self, node_id: str) -> Node | None:
        """One node as the manager knows it; None when it does not (or does not answer)."""
        if not node_id:
            return None
        result = self._read("node", "inspect", node_id, check=False)
        found = json_array(result.stdout) if result.returncode == 0 else []
        return parse_node(found[0]) if found else None

    def node_rows(self) -> list[NodeRow]:
        """`docker node ls` on a manager; a Failure when it does not answer."""
        return [parse_node_row(row) for row in json_lines(self._read("node", "ls", "--format", JSON_FORMAT).stdout)]

    def server_version(self) -> str | None:
        """The engine's version; None when it does not answer (yet)."""
        result = self._read("version", "--format", "{{json .Server}}", check=False)
        if result.returncode != 0 or not result.stdout.strip():
            return None
        try:
            return _text(_object(json.loads(result.stdout)), "Version") or None
        except json.JSONDecodeError:
            return None

    def swarm_join_token(self, role: str = "worker") -> str:
        """The token a node joins with (`-q`: the token alone). Read, never printed."""
        return self._read("swarm", "join-token", "--quiet", role).stdout.strip()

    def network(self, name: str) -> Network | None:
        result = self._read("network", "inspect", name, check=False)
        found = json_array(result.stdout) if result.returncode == 0 else []
        return parse_network(found[0]) if found else None

    def containers_inspect(self, names: Sequence[str]) -> dict[str, Container]:
        """`docker container inspect` of each name that exists on this engine, by name (missing ones, or all when
        the engine does not answer, are left out)."""
        if not names:
            return {}
        result = self._read("container", "inspect", *names, check=False)
        try:
            found = [parse_container_inspect(obj) for obj in json_array(result.stdout)]
        except json.JSONDecodeError:
            return {}
        return {container.name: container for container in found}

    def containers_labelled(self, label: str) -> list[Container]:
        """Every container carrying `label`, stopped ones too (`docker ps --all`)."""
        result = self._read("ps", "--all", "--filter", f"label={label}", "--format", JSON_FORMAT)
        return [parse_container(row) for row in json_lines(result.stdout)]

    def container_logs(self, name: str, *, tail: int) -> Completed:
        """A container's last lines (what it said on stdout and stderr)."""
        return self._read("logs", "--tail", str(tail), name, check=False)

    def volume(self, name: str) -> Volume | None:
        result = self._read("volume", "inspect", name, check=False)
        found = json_array(result.stdout) if result.returncode == 0 else []
        return parse_volume(found[0]) if found else None

    def secret_names(self) -> set[str]:
        return {_text(row, "Name") for row in json_lines(self._read("secret", "ls", "--format", JSON_FORMAT).stdout)}

    def secret_exists(self, name: str) -> bool:
        return self._read("secret", "inspect", name, check=False).returncode == 0

    def image(self, reference: str) -> Image | None:
        """A local image (`docker image inspect`); None when this engine does not hold it."""
        result = self._read("image", "inspect", reference, check=False)
        found = json_array(result.stdout) if result.returncode == 0 else []
        return parse_image(found[0]) if found else None

    def image_pull(self, reference: str, *, timeout: float = PULL_TIMEOUT) -> Completed:
        """Pull an image on this engine (the manager): proves the registry has it and lets this node have it.
        Counted as a read: it changes no service, and a dry run checks too."""
        return self._read("pull", "--quiet", reference, check=False, timeout=timeout)

    def stack_containers(self, stack: str) -> list[Container]:
        """Every container of the stack on this engine, stopped ones too (`docker ps -a`)."""
        result = self._read("ps", "--all", "--filter", f"label={STACK_LABEL}={stack}", "--format", JSON_FORMAT)
        return [parse_container(row) for row in json_lines(result.stdout)]

    def stack_networks(self, stack: str) -> list[str]:
        """The names of the stack's networks (those `docker stack deploy` made carry the stack's label)."""
        result = self._read("network", "ls", "--filter", f"label={STACK_LABEL}={stack}", "--format", JSON_FORMAT)
        return [_text(row, "Name") for row in json_lines(result.stdout)]

    def containers(self, service: str, *, healthy: bool = False) -> list[Container]:
        """The running containers of a Swarm service: on this node, or with node_hosts on every node that
        answers (`docker --host <node> ps`); a node that does not answer is reported and left out."""
        filters = ["--filter", f"label={SERVICE_LABEL}={service}"]
        if healthy:
            filters += ["--filter", "health=healthy"]
        if not self.node_hosts:
            result = self._read("ps", *filters, "--format", JSON_FORMAT)
            return [parse_container(row) for row in json_lines(result.stdout)]
        found = []
        for node, host in self.node_hosts.items():
            result = self._read("--host", host, "ps", *filters, "--format", JSON_FORMAT, check=False)
            if result.returncode != 0:
                self.runbook.log(f"node {node} ({host}) did not answer: {result.stderr.strip()[:200]}")
                continue
            found += [replace(parse_container(row), host=host, node=node) for row in json_lines(result.stdout)]
        return found

    # Reads inside a task.

    def rotation(self, container: ContainerRef) -> Rotation | None:
        """What one Nginx task's watcher has in rotation; None when it could not be read."""
        result = self._read(*_exec_on(container), "cat", WATCHER_STATE, check=False)
        if result.returncode != 0:
            return None
        try:
            return parse_rotation(_object(json.loads(result.stdout)))
        except json.JSONDecodeError:
            return None

    def edge_metrics(self, container: ContainerRef) -> dict[str, Any] | None:
        """The edge's figures per colour and route (`upstream_watcher.py metrics`: lua/edge_metrics.lua), or
        None when they could not be read."""
        result = self._read(*_exec_on(container), "python3", WATCHER, "metrics", check=False)
        if result.returncode != 0:
            return None
        try:
            return _object(json.loads(result.stdout))
        except json.JSONDecodeError:
            return None

    def edge_state(self, container: ContainerRef) -> Completed:
        """The Lua balancer's state as the watcher prints it (`upstream_watcher.py state`)."""
        return self._read(*_exec_on(container), "python3", WATCHER, "state", check=False)

    def edge_probe(self, container: ContainerRef, *, host: str, url: str, json_body: str | None = None) -> Completed:
        """A request from inside an Nginx task to its own listener (healthcheck/http_probe.py): GET, or POST a body."""
        body = ["--json", json_body] if json_body is not None else []
        return self._read(*_exec_on(container), "python3", HTTP_PROBE, "--host", host, *body, url, check=False)

    def exec_read(
        self, container: ContainerRef, argv: Sequence[str], *, env: Mapping[str, str] | None = None
    ) -> Completed:
        """A command inside a task that changes nothing (looking a row up)."""
        variables = [item for name, value in (env or {}).items() for item in ("-e", f"{name}={value}")]
        return self._read(*_exec_on(container, variables), *argv, check=False)

    # Changes.

    def stack_remove(self, stack: str) -> None:
        self._change("stack", "rm", stack)

    def volume_remove(self, name: str) -> None:
        self._change("volume", "rm", name)

    def secret_remove(self, name: str) -> None:
        self._change("secret", "rm", name)

    def image_build(
        self,
        reference: str,
        *,
        dockerfile: str,
        context: Path,
        build_args: Sequence[tuple[str, str]] = (),
        labels: Sequence[tuple[str, str]] = (),
    ) -> None:
        """`docker build --quiet` of a context tar on stdin (`-`); the image id it prints is dropped, what it says
        on stderr is shown without the legacy builder's banner."""
        options = [item for name, value in build_args for item in ("--build-arg", f"{name}={value}")]
        options += [item for name, value in labels for item in ("--label", f"{name}={value}")]
        self._change(
            "build", "--quiet", "-f", dockerfile, *options, "-t", reference, "-",
            stdin_path=context, note=f"context: {context.name} on stdin", relay=builder_noise_drop,
        )  # fmt: skip

    def image_import(self, reference: str, *, rootfs_tar: Path, changes: Sequence[str] = ()) -> None:
        """`docker import` of a root file system's tar on stdin as `reference`."""
        options = [item for change in changes for item in ("--change", change)]
        self._change("import", *options, "-", reference, stdin_path=rootfs_tar, note=f"{rootfs_tar.name} on stdin")

    def image_pull_change(self, reference: str) -> None:
        """A base image pulled for a build (`docker pull --quiet`): printed, and in a dry run not run."""
        self._change("pull", "--quiet", reference)

    def image_tag(self, source: str, target: str) -> None:
        self._change("tag", source, target)

    def image_push(self, target: str) -> Completed:
        """`docker push`; its progress is kept (shown by the caller when it fails). The digest is the image's
        RepoDigests afterwards (`image`), not a line of this text."""
        return self._change("push", target, check=False, relay=lambda _text: "")

    def node_label_add(self, node: str, label: str) -> None:
        self._change("node", "update", "--label-add", label, node)

    def node_availability_set(self, node: str, availability: str) -> None:
        self._change("node", "update", "--availability", availability, node)

    def node_remove(self, node: str) -> None:
        """--force: the node is down (its engine left it behind when it joined again under another id)."""
        self._change("node", "rm", "--force", node)

    def swarm_init(self, advertise_addr: str) -> None:
        self._change("swarm", "init", "--advertise-addr", advertise_addr)

    def swarm_join(self, token: str, *, advertise_addr: str, manager: str) -> None:
        """Join as the token's role; the token is a secret: printed and kept as <token>."""
        rest = ["--advertise-addr", advertise_addr, manager]
        self._change("swarm", "join", "--token", token, *rest, shown=["swarm", "join", "--token", "<token>", *rest])

    def swarm_leave(self) -> None:
        self._change("swarm", "leave", "--force")

    def network_create(self, name: str, *, subnet: str, gateway: str, label: str) -> None:
        self._change(
            "network", "create", "--driver", "bridge", "--subnet", subnet, "--gateway", gateway, "--label", label, name
        )

    def network_remove(self, name: str) -> None:
        self._change("network", "rm", name)

    def container_run(self, name: str, args: Sequence[str], *, labels: Sequence[str] = ()) -> None:
        """`docker run --detach --name NAME [--label ...] ARGS...` (ARGS end with the image)."""
        label_args = [item for label in labels for item in ("--label", label)]
        self._change("run", "--detach", "--name", name, *label_args, *args)

    def container_start(self, name: str) -> None:
        self._change("start", name)

    def container_unpause(self, name: str) -> None:
        self._change("unpause", name)

    def containers_stop(self, names: Sequence[str], *, seconds: int) -> Completed:
        """Stopped with time to stop what runs inside; a failure is the caller's to judge (`|| true`)."""
        return self._change("stop", "--timeout", str(seconds), *names, check=False)

    def containers_remove(self, names: Sequence[str]) -> None:
        """--force: kills what did not stop, a paused container too."""
        self._change("rm", "--force", *names)

    def service_publish_rm(self, service: str, port: int) -> None:
        self._change("service", "update", "--detach", "--quiet", "--publish-rm", str(port), service)

    def service_image_set(self, service: str, image: str, *, replicas: int | None = None) -> None:
        """A rolling update to `image` (and a replica count); --no-resolve-image: images are local, no registry."""
        count = ["--replicas", str(replicas)] if replicas is not None else []
        self._change(
            "service", "update", "--detach", "--quiet", "--no-resolve-image", "--image", image, *count, service
        )

    def service_labels_add(self, service: str, labels: Mapping[str, str]) -> None:
        """Service labels are not part of the task template: adding them restarts no task."""
        pairs = [item for name, value in labels.items() for item in ("--label-add", f"{name}={value}")]
        self._change("service", "update", "--detach", "--quiet", *pairs, service)

    def service_update_noop(self, service: str) -> None:
        """An update that changes nothing in the spec: Swarm's updater then looks at every slot again."""
        self._change("service", "update", "--detach", "--quiet", service)

    def service_rollback(self, service: str) -> None:
        self._change("service", "rollback", "--detach", "--quiet", service)

    def service_remove(self, service: str) -> None:
        self._change("service", "rm", service)

    def service_scale(self, service: str, replicas: int) -> None:
        self._change("service", "scale", "--detach", f"{service}={replicas}")

    def secret_create(self, name: str, *, stack: str, value: str | None = None, file: Path | None = None) -> bool:
        """Create a secret from a value (through stdin: never argv, the environment or the log) or a file;
        False when docker refused (it may exist already: the caller looks)."""
        label = ["--label", f"{STACK_LABEL}={stack}"]
        if file is not None:
            result = self._change("secret", "create", *label, name, str(file), check=False)
        else:
            result = self._change(
                "secret", "create", *label, name, "-", check=False, stdin_text=value or "", note="value on stdin"
            )
        return result.returncode == 0

    def stack_deploy(
        self,
        stack: str,
        compose_files: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        from_registry: bool = False,
    ) -> None:
        """`docker stack deploy` without waiting (the caller waits); its progress lines go to stderr.
        --resolve-image never without a registry: the images are local. --prune removes the services the compose
        files no longer name."""
        files = [item for name in compose_files for item in ("--compose-file", name)]
        # From a registry: the nodes pull with the manager's login (none needed for an open one), and each image is
        # pinned to the digest the registry gives now, as the typed `docker stack deploy` does: every node runs the
        # same bytes, and the typed command then finds nothing to change.
        resolve = (
            ["--with-registry-auth", "--resolve-image", "always"] if from_registry else ["--resolve-image", "never"]
        )
        self._change(
            "stack", "deploy", *files, *resolve, "--prune", "--detach=true", stack,
            output=Output.STDERR, cwd=cwd, env=env,
        )  # fmt: skip

    def exec_change(
        self,
        container: ContainerRef,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        stdin_path: Path | None = None,
        interactive: bool = False,
        terminal: bool = False,
        stream: bool = False,
    ) -> Completed:
        """A command inside a task that changes something (switch the live colour, reload, create a user).
        `terminal`: -it, our terminal is the command's; `interactive`: -i, our stdin is the command's;
        `stream`: its output goes to our stderr as it comes (a long seed's progress)."""
        flags = ["-it"] if terminal else (["-i"] if interactive else [])
        variables = [item for name, value in (env or {}).items() for item in ("-e", f"{name}={value}")]
        output = Output.TERMINAL if terminal or (interactive and stdin_path is None) else Output.CAPTURE
        if stream and output is Output.CAPTURE:
            output = Output.STDERR
        return self._change(
            *_exec_on(container, [*variables, *flags]), *argv, check=False, stdin_path=stdin_path, output=output
        )
