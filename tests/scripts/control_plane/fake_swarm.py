"""A swarm in memory that answers the control plane's Docker adapter the way the docker CLI does (the JSON
shapes of tests/scripts/fixtures/docker/), records every command, and applies the changes it is asked for.

It is injected as the adapter's runner: no stub binary on PATH, no Go templates matched. Update states can
be scripted per service: each `docker service inspect` takes the next one (the last one stays).
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.control_plane.cli import main
from scripts.control_plane.context import Context
from scripts.control_plane.decisions.convergence import SERVICE_IMAGE_VARIABLES
from scripts.control_plane.decisions.secrets import stack_secret_names
from scripts.control_plane.docker import Completed, Docker, Output
from scripts.control_plane.event_log import EventLog
from scripts.control_plane.runbook import Runbook
from scripts.control_plane.settings import settings_load
from scripts.control_plane.verdict import Timer, Verdict

STACK = "partscat"
THIS_NODE = "node-here"
# lua/edge_metrics.lua's bucket bounds.
METRIC_BOUNDS_MS = (5, 10, 25, 50, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2500, 5000, 10000)
READS = {
    ("info",),
    ("stack", "ls"),
    ("stack", "services"),
    ("stack", "ps"),
    ("service", "ls"),
    ("service", "inspect"),
    ("service", "ps"),
    ("node", "ls"),
    ("node", "inspect"),
    ("volume", "inspect"),
    ("secret", "ls"),
    ("secret", "inspect"),
    ("image", "inspect"),
    ("ps",),
    ("pull",),
    ("network", "ls"),
}
Json = dict[str, Any]


def update_status(state: str, *, started: str = "2026-12-06T06:00:00Z", message: str = "") -> Json:
    return {"State": state, "StartedAt": started, "Message": message or f"swarm says {state}"}


def service_json(
    name: str,
    image: str,
    *,
    replicas: int | None = 1,
    labels: Mapping[str, str] | None = None,
    update: Json | None = None,
    previous_image: str | None = None,
    env: Sequence[str] = (),
    secrets: Mapping[str, str] | None = None,
    ports: Sequence[int] = (),
) -> Json:
    """A `docker service inspect` object; secrets maps file name -> secret name."""
    spec: Json = {
        "Name": name,
        "Labels": dict(labels or {}),
        "TaskTemplate": {
            "ContainerSpec": {
                "Image": image,
                "Env": list(env),
                "Secrets": [
                    {"File": {"Name": file, "UID": "0", "GID": "0", "Mode": 292}, "SecretID": "x", "SecretName": secret}
                    for file, secret in (secrets or {}).items()
                ],
            }
        },
        "Mode": {"Global": {}} if replicas is None else {"Replicated": {"Replicas": replicas}},
        "EndpointSpec": {
            "Mode": "dnsrr",
            "Ports": [
                {"Protocol": "tcp", "TargetPort": port, "PublishedPort": port, "PublishMode": "host"} for port in ports
            ],
        },
    }
    service: Json = {"ID": f"id-{name}", "Spec": spec}
    if update is not None:
        service["UpdateStatus"] = update
    if previous_image is not None:
        service["PreviousSpec"] = {"Name": name, "TaskTemplate": {"ContainerSpec": {"Image": previous_image}}}
    return service


def task_json(
    task_id: str, slot: str, image: str, *, state: str = "Running", desired: str = "Running", error: str = ""
) -> Json:
    return {
        "CurrentState": f"{state} 5 seconds ago",
        "DesiredState": desired,
        "Error": error,
        "ID": task_id,
        "Image": image,
        "Name": slot,
        "Node": "vm",
        "Ports": "",
    }


def container_json(container_id: str, service: str, *, healthy: bool = True) -> Json:
    return {
        "ID": container_id,
        "Image": "img",
        "Labels": f"com.docker.stack.namespace={STACK},com.docker.swarm.service.name={service}",
        "Names": f"{service}.1.{container_id}",
        "State": "running",
        "Status": f"Up 1 minute ({'healthy' if healthy else 'health: starting'})",
    }


def rotation_json(**peers: int) -> Json:
    """upstreams.json with N peers in rotation per service (django_blue=2 -> django-blue: 2 peers)."""
    return {
        name.replace("_", "-"): {"in_rotation": [f"10.0.0.{index}:8000" for index in range(1, count + 1)]}
        for name, count in peers.items()
    }


def _result(obj: object) -> Completed:
    return Completed(0, json.dumps(obj) + "\n", "")


def _lines(objs: Sequence[object]) -> Completed:
    return Completed(0, "".join(json.dumps(obj) + "\n" for obj in objs), "")


def _flag_values(args: Sequence[str], flag: str) -> list[str]:
    return [args[index + 1] for index, arg in enumerate(args[:-1]) if arg == flag]


@dataclass
class FakeSwarm:
    services: dict[str, Json] = field(default_factory=dict)
    # Replicas as `docker stack services` shows them, where not "n/n".
    shown_replicas: dict[str, str] = field(default_factory=dict)
    tasks: list[Json] = field(default_factory=list)
    nodes: list[Json] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)
    volumes: set[str] = field(default_factory=set)
    images: set[str] = field(default_factory=set)
    # What the registry holds (`docker pull` of anything else fails), and whether it answers at all.
    registry: set[str] = field(default_factory=set)
    registry_up: bool = True
    # Running containers on this node by Swarm service name; unhealthy ones are left out of health=healthy.
    containers: dict[str, list[Json]] = field(default_factory=dict)
    # upstreams.json by Nginx container id.
    rotations: dict[str, Json] = field(default_factory=dict)
    # The edge's figures (`upstream_watcher.py metrics`): each read adds, per colour, (requests, 5xx, the
    # latency bucket they fall in) to counters that start at zero, as traffic would between two reads.
    traffic: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    counters: dict[str, list[int]] = field(default_factory=dict)
    # Exit codes of `docker exec` commands: the first key found in the command line wins (default 0).
    exec_codes: dict[str, int] = field(default_factory=dict)
    scripted_updates: dict[str, list[Json | None]] = field(default_factory=dict)
    # The services whose scripted update states are playing: those updated or rolled back (or set by a test).
    armed: set[str] = field(default_factory=set)
    # When set, a refused `docker secret create` (as if a concurrent deploy had made it).
    secret_create_code: int = 0
    daemon_up: bool = True
    calls: list[tuple[str, ...]] = field(default_factory=list)
    secret_values: dict[str, str] = field(default_factory=dict)
    stdin_files: list[Path] = field(default_factory=list)
    deploy_env: dict[str, str] = field(default_factory=dict)
    outputs: list[Output] = field(default_factory=list)
    # The stack's networks (`docker network ls --filter label=...`), gone with `docker stack rm`; and how many
    # looks after it the stack's containers and networks are still there.
    networks: set[str] = field(default_factory=set)
    lingering_looks: int = 0
    # build, tag, push and import: what each image's RepoDigests hold after a push, the pushes that fail, and
    # the environment docker was run in (None: this process's).
    repo_digests: dict[str, list[str]] = field(default_factory=dict)
    push_codes: dict[str, int] = field(default_factory=dict)
    environs: list[Mapping[str, str] | None] = field(default_factory=list)

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
    ) -> Completed:
        assert argv[0] == "docker", argv
        args = list(argv[1:])
        self.calls.append(tuple(argv))
        self.outputs.append(output)
        self.environs.append(env)
        if stdin_path is not None:
            self.stdin_files.append(stdin_path)
        if not self.daemon_up:
            return Completed(1, "", "Cannot connect to the Docker daemon")
        if args[0] in ("build", "tag", "push", "import"):
            return self._image_change(args)
        if args[0] == "exec":
            return self._exec(args[1:])
        verb = tuple(args[:2]) if args[0] not in ("info", "ps", "pull") else (args[0],)
        if verb == ("pull",):
            return self._pull(args)
        if verb in READS:
            return self._read(verb, args)
        return self._change(args, stdin_text=stdin_text, env=env)

    # What a test asserts on.

    @property
    def changes(self) -> list[str]:
        """The commands that changed something, as typed (reads and exec reads left out)."""
        return [" ".join(call) for call in self.calls if not self._is_read(call)]

    def _is_read(self, call: tuple[str, ...]) -> bool:
        args = call[1:]
        if args[0] == "exec":
            return not any(word in args for word in ("live", "canary", "apply-config", "createsuperuser", "seed_parts"))
        verb = tuple(args[:2]) if args[0] not in ("info", "ps", "pull") else (args[0],)
        return verb in READS

    def _image_change(self, args: list[str]) -> Completed:
        """`docker build ... -t REF -`, `docker tag SOURCE TARGET`, `docker push TARGET`, `docker import ... - REF`."""
        if args[0] == "build":
            self.images.add(_flag_values(args, "-t")[0])
        elif args[0] == "import":
            self.images.add(args[-1])
        elif args[0] == "tag":
            assert args[1] in self.images, f"tag of a missing image {args[1]}"
            self.images.add(args[2])
        else:
            target = args[1]
            code = next((code for key, code in self.push_codes.items() if key in target), 0)
            if code or not self.registry_up:
                return Completed(code or 1, "The push refers to repository\n", "connection refused")
            repository = target.rsplit(":", 1)[0]
            digest = "sha256:" + hashlib.sha256(target.encode()).hexdigest()
            self.repo_digests.setdefault(target, []).append(f"{repository}@{digest}")
            return Completed(0, f"{target.rsplit(':', 1)[1]}: digest: {digest} size: 1234\n", "")
        return Completed(0, "sha256:0123\n", "")

    def rows(self) -> list[Json]:
        rows = []
        for name in sorted(self.services):
            spec = self.services[name]["Spec"]
            replicas = spec["Mode"].get("Replicated", {}).get("Replicas")
            shown = self.shown_replicas.get(name, "1/1" if replicas is None else f"{replicas}/{replicas}")
            image = spec["TaskTemplate"]["ContainerSpec"]["Image"]
            mode = "global" if replicas is None else "replicated"
            rows.append({"ID": name[:12], "Image": image, "Mode": mode, "Name": name, "Ports": "", "Replicas": shown})
        return rows

    # Reads.

    def _pull(self, args: list[str]) -> Completed:
        """`docker pull IMAGE`: from the fake registry, unless it is down or lacks the tag."""
        if not self.registry_up:
            return Completed(
                1,
                "",
                'Error response from daemon: Get "https://registry.example:5443/v2/": connection refused',
            )
        if args[-1] not in self.registry:
            return Completed(1, "", f"Error response from daemon: manifest for {args[-1]} not found: manifest unknown")
        self.images.add(args[-1])
        return Completed(0, f"{args[-1]}\n")

    def _read(self, verb: tuple[str, ...], args: list[str]) -> Completed:  # noqa: PLR0911, PLR0912 (one branch a command)
        if verb == ("info",):
            return _result({"NodeID": THIS_NODE, "LocalNodeState": "active", "ControlAvailable": True})
        if verb == ("stack", "ls"):
            return _lines([{"Name": STACK, "Services": str(len(self.services))}] if self.services else [])
        if verb in (("stack", "services"), ("service", "ls")):
            return _lines(self.rows())
        if verb in (("stack", "ps"), ("service", "ps")):
            names = (
                [arg for arg in args[2:] if arg in self.services] if verb == ("service", "ps") else list(self.services)
            )
            if verb == ("service", "ps") and any(
                arg.startswith(f"{STACK}_") and arg not in self.services for arg in args
            ):
                return Completed(1, "", "no such service")
            running = "desired-state=running" in args
            tasks = [
                task
                for task in self.current_tasks()
                if task["Name"].rsplit(".", 1)[0] in names and (not running or task["DesiredState"] == "Running")
            ]
            return _lines(tasks)
        if verb == ("service", "inspect"):
            return self._service_inspect(args[2:])
        if verb == ("node", "ls"):
            return _lines([{"ID": node["ID"], "Hostname": node["Description"]["Hostname"]} for node in self.nodes])
        if verb == ("node", "inspect"):
            return _result([node for node in self.nodes if node["ID"] in args[2:]])
        if verb == ("volume", "inspect"):
            found = args[2] in self.volumes
            return _result([{"Name": args[2], "Driver": "local"}]) if found else Completed(1, "[]\n", "no such volume")
        if verb == ("secret", "ls"):
            return _lines([{"ID": name, "Name": name} for name in sorted(self.secrets)])
        if verb == ("secret", "inspect"):
            found = args[2] in self.secrets
            return _result([{"ID": "s", "Spec": {"Name": args[2]}}]) if found else Completed(1, "[]\n", "not found")
        if verb == ("image", "inspect"):
            found = args[2] in self.images
            image = {"Id": "sha256:1", "RepoTags": [args[2]], "RepoDigests": self.repo_digests.get(args[2], [])}
            return _result([image]) if found else Completed(1, "[]\n", "No such image")
        if verb == ("network", "ls"):
            return _lines([{"Name": name, "Driver": "overlay"} for name in sorted(self.networks)])
        if "--all" in args:
            return self._stack_containers()
        return self._ps(args)

    def _stack_containers(self) -> Completed:
        """`docker ps --all --filter label=com.docker.stack.namespace=...`: every task's container, while any."""
        if not self.services and self.lingering_looks <= 0:
            self.networks.clear()
            return _lines([])
        if not self.services:
            self.lingering_looks -= 1
            return _lines([container_json("left-1", f"{STACK}_django-blue", healthy=False)])
        return _lines([container for name in sorted(self.services) for container in self.current_containers(name)])

    def _service_inspect(self, names: list[str]) -> Completed:
        found = []
        for name in names:
            if name not in self.services:
                continue
            script = self.scripted_updates.get(name) if name in self.armed else None
            if script:
                status = script[0] if len(script) == 1 else script.pop(0)
                if status is None:
                    self.services[name].pop("UpdateStatus", None)
                else:
                    self.services[name]["UpdateStatus"] = status
            found.append(copy.deepcopy(self.services[name]))
        missing = [name for name in names if name not in self.services]
        if missing:
            return Completed(1, json.dumps(found) + "\n", f"Error: no such service: {missing[0]}")
        return _result(found)

    # What the swarm runs, unless a test set it: one healthy task and container per replica on the service's
    # image, one Nginx container whose watcher has every app task in rotation.

    def image_of(self, name: str) -> str:
        return str(self.services[name]["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"])

    def replicas_of(self, name: str) -> int:
        return int(self.services[name]["Spec"]["Mode"].get("Replicated", {}).get("Replicas", 1))

    def current_tasks(self) -> list[Json]:
        if self.tasks:
            return self.tasks
        return [
            task_json(f"t-{name}-{slot}", f"{name}.{slot}", self.image_of(name))
            for name in sorted(self.services)
            for slot in range(1, self.replicas_of(name) + 1)
        ]

    def current_containers(self, service: str) -> list[Json]:
        if service in self.containers:
            return self.containers[service]
        if service not in self.services:
            return []
        short = service.removeprefix(f"{STACK}_")
        return [container_json(f"{short}-{index}", service) for index in range(1, self.replicas_of(service) + 1)]

    def current_rotation(self, container: str) -> Json | None:
        if container in self.rotations:
            return self.rotations[container]
        if not container.startswith("nginx-"):
            return None
        return {
            name.removeprefix(f"{STACK}_"): {"in_rotation": [f"10.0.0.{i}:8000" for i in range(self.replicas_of(name))]}
            for name in self.services
            if name.removeprefix(f"{STACK}_").startswith(("django-", "fastapi-"))
        }

    def _ps(self, args: list[str]) -> Completed:
        filters = _flag_values(args, "--filter")
        service = next(value.split("=", 2)[2] for value in filters if value.startswith("label="))
        containers = self.current_containers(service)
        if "health=healthy" in filters:
            containers = [container for container in containers if "(healthy)" in container["Status"]]
        return _lines(containers)

    def _exec(self, args: list[str]) -> Completed:
        line = " ".join(args)
        for key, code in self.exec_codes.items():
            if key in line:
                return Completed(code, "", f"{key} failed" if code else "")
        container = next(arg for arg in args if not arg.startswith("-") and "=" not in arg)
        if "upstreams.json" in line:
            rotation = self.current_rotation(container)
            return _result(rotation) if rotation is not None else Completed(1, "", "No such file")
        if line.endswith(" state"):
            return Completed(0, '{"live": "blue"}\n', "")
        if line.endswith(" metrics"):
            return _result(self.edge_metrics())
        return Completed(0, "", "")

    def edge_metrics(self) -> Json:
        """GET /edge/metrics after one more step of `traffic` (lua/edge_metrics.lua's shape, one route)."""
        colours = {}
        for colour, (requests, errors, bucket) in self.traffic.items():
            counts = self.counters.setdefault(colour, [0, 0] + [0] * (len(METRIC_BOUNDS_MS) + 1))
            counts[0] += requests
            counts[1] += errors
            counts[2 + bucket] += requests
            buckets = counts[2:]
            colours[colour] = {
                "search": {"requests": counts[0], "5xx": counts[1], "edge_failures": 0, "shed": 0, "buckets": buckets}
            }
        return {"buckets_ms": list(METRIC_BOUNDS_MS), "colours": colours}

    # Changes.

    def _change(  # noqa: PLR0912 (one branch a command)
        self, args: list[str], *, stdin_text: str | None, env: Mapping[str, str] | None
    ) -> Completed:
        verb = tuple(args[:2])
        if verb == ("service", "update"):
            self._service_update(args[2:])
            self.armed.add(args[-1])
        elif verb == ("service", "rollback"):
            self.armed.add(args[-1])
            service = self.services[args[-1]]
            previous = service.pop("PreviousSpec")
            service["PreviousSpec"], service["Spec"] = service["Spec"], {**service["Spec"], **previous}
        elif verb == ("service", "scale"):
            name, count = args[-1].split("=")
            self.services[name]["Spec"]["Mode"] = {"Replicated": {"Replicas": int(count)}}
        elif verb == ("node", "update"):
            label, node = _flag_values(args, "--label-add")[0], args[-1]
            key, value = label.split("=", 1)
            for found in self.nodes:
                if found["ID"] == node:
                    found["Spec"]["Labels"][key] = value
        elif verb == ("secret", "create"):
            if self.secret_create_code:
                self.secrets.add(args[-2])
                return Completed(self.secret_create_code, "", "Error response from daemon: rpc error: AlreadyExists")
            name = args[-2]
            self.secrets.add(name)
            if args[-1] == "-":
                self.secret_values[name] = stdin_text or ""
        elif verb == ("service", "rm"):
            del self.services[args[-1]]
        elif verb == ("stack", "rm"):
            self.services.clear()
        elif verb == ("volume", "rm"):
            self.volumes.remove(args[-1])
        elif verb == ("secret", "rm"):
            self.secrets.remove(args[-1])

        elif verb == ("stack", "deploy"):
            self.deploy_env = dict(env or {})
            self._stack_create(self.deploy_env)
        else:
            raise AssertionError(f"fake swarm: unexpected command: docker {' '.join(args)}")
        return Completed(0, "id\n", "")

    def _stack_create(self, env: Mapping[str, str]) -> None:
        """What `docker stack deploy` does here: create the services stack.yml names that do not exist yet
        (an existing one keeps its image: the stack's own label has not changed)."""
        for short, variable in SERVICE_IMAGE_VARIABLES:
            name = f"{STACK}_{short}"
            if name in self.services:
                continue
            replicas: int | None = int(env.get(variable.replace("_IMAGE", "_REPLICAS"), "1"))
            if short == "edge-socket":
                replicas = None
            labels = {}
            if short == "nginx":
                labels = {
                    "partscat.live-colour": env.get("LIVE_COLOUR", ""),
                    "partscat.live-since": env.get("LIVE_SINCE", ""),
                    "partscat.candidate-colour": env.get("CANDIDATE_COLOUR", ""),
                    "partscat.canary-percent": env.get("CANARY_PERCENT", ""),
                    "partscat.canary-allow": env.get("CANARY_ALLOW", ""),
                }
            self.services[name] = service_json(name, env[variable], replicas=replicas, labels=labels)

    def _service_update(self, args: list[str]) -> None:
        service = self.services[args[-1]]
        spec = service["Spec"]
        if len(args) == 3:  # --detach --quiet SERVICE: Swarm's updater keeps one task meant to run per slot
            seen: set[str] = set()
            for task in self.tasks:
                if task["Name"].startswith(f"{args[-1]}.") and task["DesiredState"] == "Running":
                    if task["Name"] in seen:
                        task["DesiredState"] = "Shutdown"
                    seen.add(task["Name"])
        for image in _flag_values(args, "--image"):
            service["PreviousSpec"] = copy.deepcopy(spec)
            spec["TaskTemplate"]["ContainerSpec"]["Image"] = image
        for replicas in _flag_values(args, "--replicas"):
            spec["Mode"] = {"Replicated": {"Replicas": int(replicas)}}
        for label in _flag_values(args, "--label-add"):
            key, value = label.split("=", 1)
            spec["Labels"][key] = value
        for port in _flag_values(args, "--publish-rm"):
            ports = spec["EndpointSpec"]["Ports"]
            spec["EndpointSpec"]["Ports"] = [item for item in ports if str(item["TargetPort"]) != port]


@dataclass
class FakeClock:
    """Time that passes only when the code under test sleeps."""

    now: float = 1_796_536_800.0
    elapsed: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def time(self) -> float:
        return self.now + self.elapsed

    def monotonic(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.elapsed += seconds


@dataclass
class Run:
    exit_code: int
    stderr: str
    stdout: str


@dataclass
class Programs:
    """The runner for what is not docker (up's bash steps, openssl): records and answers 0."""

    calls: list[tuple[str, ...]] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)
    # What a program prints, by a word of its command line (openssl's public keys).
    outputs: dict[str, str] = field(default_factory=dict)

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
    ) -> Completed:
        self.calls.append(tuple(argv))
        line = " ".join(argv)
        code = next((code for key, code in self.codes.items() if key in line), 0)
        return Completed(code, next((text for key, text in self.outputs.items() if key in line), ""), "")


IMAGES = {
    "POSTGRES_IMAGE": "partscat/postgres:p1",
    "REDIS_IMAGE": "partscat/redis:r1",
    "NGINX_IMAGE": "partscat/nginx:n1",
    "EDGE_SOCKET_IMAGE": "partscat/edge-socket:e1",
    "DJANGO_IMAGE": "partscat/django:d2",
    "FASTAPI_IMAGE": "partscat/fastapi:f2",
}


def checkout(root: Path, images: Mapping[str, str] = IMAGES) -> Path:
    """A checkout whose build-images.sh ran: .cache/images.env, and nginx/nginx.conf."""
    (root / ".cache").mkdir(parents=True, exist_ok=True)
    lines = "".join(f"{name}={value}\n" for name, value in images.items())
    (root / ".cache" / "images.env").write_text(f"# Written by scripts/build-images.sh\n{lines}")
    (root / "nginx").mkdir(exist_ok=True)
    (root / "nginx" / "nginx.conf").write_text("events {}\n")
    return root


LIVE_IMAGES = {"django": IMAGES["DJANGO_IMAGE"], "fastapi": IMAGES["FASTAPI_IMAGE"]}
OLD_IMAGES = {"django": "partscat/django:d1", "fastapi": "partscat/fastapi:f1"}


def stack_swarm(
    *,
    live: str = "blue",
    candidate: str = "",
    idle_replicas: int = 0,
    env: Sequence[str] = ("DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1",),
) -> FakeSwarm:
    """The whole stack as deploy left it on IMAGES: the live colour at 2 replicas on the images built, the idle
    one on the release before at `idle_replicas`; the state in the nginx service's labels; every secret."""
    services: dict[str, Json] = {}

    def add(short: str, image: str, **settings: Any) -> None:
        services[f"{STACK}_{short}"] = service_json(f"{STACK}_{short}", image, **settings)

    add("postgres", IMAGES["POSTGRES_IMAGE"])
    add("redis", IMAGES["REDIS_IMAGE"])
    add("redis-cache", IMAGES["REDIS_IMAGE"])
    add("edge-socket", IMAGES["EDGE_SOCKET_IMAGE"], replicas=None)
    labels = {"partscat.live-colour": live, "partscat.live-since": "", "partscat.candidate-colour": candidate}
    add("nginx", IMAGES["NGINX_IMAGE"], labels=labels, replicas=None)
    add("celery-worker", IMAGES["DJANGO_IMAGE"])
    add("celery-beat", IMAGES["DJANGO_IMAGE"])
    for app in ("django", "fastapi"):
        for colour in ("blue", "green"):
            is_live = colour == live
            image = LIVE_IMAGES[app] if is_live else OLD_IMAGES[app]
            add(f"{app}-{colour}", image, replicas=2 if is_live else idle_replicas, env=env)
    labels = {"partscat.postgres": "true", "partscat.edge": "true"}
    node = {"ID": THIS_NODE, "Spec": {"Labels": labels}, "Description": {"Hostname": "vm"}}
    node["Status"] = {"State": "ready"}
    return FakeSwarm(
        services=services,
        nodes=[node],
        secrets=set(stack_secret_names(STACK)),
        volumes={f"{STACK}_pgdata"},
        images={*IMAGES.values(), *OLD_IMAGES.values()},
    )


def events(root: Path) -> list[Json]:
    """The event log a run wrote under the checkout's .cache/."""
    path = root / ".cache" / "stack-events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def run_cli(
    swarm: FakeSwarm,
    root: Path,
    *args: str,
    environ: Mapping[str, str] | None = None,
    clock: FakeClock | None = None,
    programs: Programs | None = None,
    terminal: bool = False,
) -> Run:
    """The CLI against the fake swarm with a fake clock, `root` as the checkout (its .cache/ holds
    images.env and the event log); what it printed and its exit code."""
    err, out = io.StringIO(), io.StringIO()
    exit_code = main(
        list(args),
        environ={"STACK_NAME": STACK, "UPDATE_POLL_SECONDS": "2", **(environ or {})},
        repo_root=root,
        runner=swarm,
        programs=programs or Programs(),
        clock=clock or FakeClock(),
        stdin_is_terminal=terminal,
        err=err,
        out=out,
    )
    return Run(exit_code, err.getvalue(), out.getvalue())


def context(
    swarm: FakeSwarm,
    root: Path,
    *,
    clock: FakeClock | None = None,
    dry_run: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Context:
    """A command's context on the fake swarm, its event log under root/.cache/, its runbook in memory."""
    settings = settings_load({"STACK_NAME": STACK, **(environ or {})}, repo_root=root)
    clock = clock or FakeClock()
    verdict = Verdict(command="test", args=[], dry_run=dry_run, stack=STACK, started_at=clock.time())
    runbook = Runbook("test.sh", err=io.StringIO(), out=io.StringIO())
    return Context(
        settings=settings,
        docker=Docker(runner=swarm, runbook=runbook, dry_run=dry_run, clock=clock.time),
        runbook=runbook,
        events=EventLog(
            None if dry_run else settings.events_file, stack=STACK, command="test", run="r", clock=clock.time
        ),
        verdict=verdict,
        timer=Timer(verdict, clock.monotonic),
        clock=clock,
        programs=Programs(),
        environ=dict(environ or {}),
    )


def logged(ctx: Context) -> str:
    err = ctx.runbook.err
    assert isinstance(err, io.StringIO)
    return err.getvalue()
