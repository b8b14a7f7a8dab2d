"""Drive the real Swarm stack from tests: the docker CLI, HTTP through Nginx, and a request loop under change.

Standard library only, so the Swarm suite needs nothing but pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK = os.environ.get("STACK_NAME", "partscat")
HTTP_PORT = int(os.environ.get("HTTP_PORT", "8080"))
BASE_URL = f"http://127.0.0.1:{HTTP_PORT}"
NETWORK = f"{STACK}_backend"

# Talk to the stack directly, whatever proxy the environment names.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def docker(*args: str, timeout: float = 120, check: bool = True) -> str:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def script(
    name: str, *args: str, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run scripts/<name> with the suite's STACK_NAME and HTTP_PORT; never raises on a non-zero exit.

    Every deploy the suite makes runs Nginx in debug mode, and the edge on loopback only: X-Upstream-Addr tells
    the tests which task answered (Reply.upstream, loadgen). Setting both on every script, not only on up.sh,
    means that no later deploy changes them, which would also replace the Nginx task (or the socket holder) in
    the middle of a test.
    """
    environment = {
        **os.environ,
        "STACK_NAME": STACK,
        "HTTP_PORT": str(HTTP_PORT),
        "EDGE_DEBUG_HEADERS": "1",
        # The socket holder binds loopback only: the suite's traffic never leaves this machine.
        "EDGE_BIND_ADDRESS": "127.0.0.1",
    }
    return subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**environment, **(env or {})},
        cwd=REPO_ROOT,
    )


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)

    @property
    def upstream(self) -> str:
        """The task that gave the final answer (Nginx lists every task tried, the last one answered)."""
        return self.headers.get("x-upstream-addr", "").split(",")[-1].strip()


def http_call(
    method: str, path: str, body: object | None = None, timeout: float = 15, headers: dict[str, str] | None = None
) -> Reply:
    """One request through Nginx; HTTP errors come back as a Reply, connection errors raise."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE_URL + path, data=data, method=method, headers=headers or {})  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Reply(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


def wait_until(predicate: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.5) -> float:
    """Poll until predicate() is true; return when it became true (time.monotonic()), or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


APPS = ("django", "fastapi")


def live_colour() -> str:
    """The blue-green colour users reach (a label of the nginx service; blue until the first switch)."""
    label = docker("service", "inspect", f"{STACK}_nginx", "--format", '{{index .Spec.Labels "partscat.live-colour"}}')
    return label.strip() if label.strip() in ("blue", "green") else "blue"


def swarm_service(service: str) -> str:
    """The Swarm service behind a name: django and fastapi mean their live colour (the control plane's service_name)."""
    return f"{STACK}_{service}-{live_colour()}" if service in APPS else f"{STACK}_{service}"


def service_containers(service: str) -> list[str]:
    """IDs of the running containers of a stack service on this node."""
    out = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={swarm_service(service)}")
    return out.split()


def operator_headers() -> dict[str, str]:
    """The edge's operator token (nginx/lua/edge_operator.lua), read inside an Nginx task: only a request that
    carries it may make a search skip the cache or ask the apps' probes through Nginx."""
    container = service_containers("nginx")[0]
    token = docker("exec", container, "sh", "-c", 'cat "$EDGE_OPERATOR_TOKEN_FILE"').strip()
    assert token, "the nginx task has no operator token (EDGE_OPERATOR_TOKEN_FILE)"
    return {"X-Edge-Operator-Token": token}


def postgres_sql(sql: str, timeout: float = 600, **variables: str) -> str:
    """Run SQL with psql inside the postgres task, over its local socket; return the unaligned output.

    Values go in as psql variables (``:'name'`` for a literal, ``:"name"`` for an identifier), never pasted."""
    containers = service_containers("postgres")
    assert containers, "no running postgres task"
    command = 'exec psql -X -q -t -A -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" "$@"'
    settings = [f"--set={name}={value}" for name, value in variables.items()]
    result = subprocess.run(
        ["docker", "exec", "-i", containers[0], "sh", "-c", command, "psql", *settings],
        input=sql,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"psql failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout.strip()


def container_address(container: str) -> str:
    """The container's IP on the stack's overlay network."""
    networks = json.loads(docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", container))
    return str(networks[NETWORK]["IPAddress"])


def service_task_addresses(service: str) -> dict[str, str]:
    """container id -> overlay IP for every running task of the service."""
    return {container: container_address(container) for container in service_containers(service)}


def service_running_replicas(service: str) -> tuple[int, int]:
    """(running and healthy, desired) as `docker service ls` counts them."""
    wanted = swarm_service(service)
    replicas = docker("service", "ls", "--filter", f"name={wanted}", "--format", "{{.Name}} {{.Replicas}}")
    for line in replicas.splitlines():
        name, counts = line.split()[:2]
        if name == wanted:
            running, desired = counts.split("/")
            return int(running), int(desired)
    raise AssertionError(f"service {wanted} not found")


def nginx_upstreams() -> dict[str, dict[str, object]]:
    """What the upstream watcher currently routes to (its state file inside the nginx task)."""
    containers = service_containers("nginx")
    assert containers, "no running nginx task"
    return dict(json.loads(docker("exec", containers[0], "cat", "/tmp/nginx/upstreams.json")))


def upstream_addresses(service: str) -> set[str]:
    """IP addresses in rotation for `service` (django and fastapi: their live colour; or django-green etc.)."""
    name = swarm_service(service).removeprefix(f"{STACK}_")
    servers = nginx_upstreams()[name]["in_rotation"]
    assert isinstance(servers, list)
    return {str(server).rsplit(":", 1)[0] for server in servers}


def service_image(service: str) -> str:
    return docker(
        "service", "inspect", swarm_service(service), "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}"
    ).strip()


def image_variant(service: str, variant: str, dockerfile_tail: str = "") -> str:
    """A new image built on the service's current one: a distinct image ID under a tag no service runs yet,
    <repo>:<tag>-test-<variant>-<time>, so an update to it always replaces tasks."""
    base = service_image(service)
    repository, tag = base.rsplit(":", 1)
    name = f"{repository}:{tag.split('-test-')[0]}-test-{variant}-{time.time_ns()}"
    dockerfile = f"FROM {base}\nLABEL partscat.test-variant={name}\n{dockerfile_tail}"
    subprocess.run(
        ["docker", "build", "-q", "-t", name, "-"],
        input=dockerfile,
        text=True,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return name


def image_command(image: str) -> list[str]:
    return list(json.loads(docker("image", "inspect", image, "--format", "{{json .Config.Cmd}}")))
