"""Driving the three-node cluster (scripts/cluster.sh) the way an operator does: plain `docker` pointed at the
manager through DOCKER_HOST, `docker --host <node>` for one node's own engine, and the project's scripts with
what `scripts/cluster.sh env` prints. Traffic goes to the edge nodes' loopback ports only (`cluster.sh edges`).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

from tests.swarm.harness import REPO_ROOT, wait_until

STACK = "partscat"
NODES = ("partscat-node-1", "partscat-node-2", "partscat-node-3")
# The worker that holds app tasks and no edge or data (cluster.sh labels): the one drained and lost.
APP_WORKER = "partscat-node-3"
APPS = ("django", "fastapi")
# Replicas of each app's live colour on the cluster, as on one node: three nodes on 2 cores hold two colours of two
# replicas each during a blue-green release, not of three (tasks timed out their health checks).
APP_REPLICAS = 2


def _run(argv: list[str], *, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, env=env, cwd=REPO_ROOT)


def cluster_script(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return _run(["bash", str(REPO_ROOT / "scripts" / "cluster.sh"), *args], env=dict(os.environ), timeout=timeout)


@dataclass(frozen=True)
class Cluster:
    """What `scripts/cluster.sh env` and `edges` print, and the release the suite deployed."""

    env: dict[str, str]
    edges: tuple[tuple[str, int], ...]
    tag: str

    @property
    def registry(self) -> str:
        return self.env["REGISTRY"]

    @property
    def node_hosts(self) -> dict[str, str]:
        pairs = (item.split("=", 1) for item in self.env["PARTSCAT_NODE_HOSTS"].split(","))
        return {node: host for node, host in pairs}

    def image(self, name: str, tag: str | None = None) -> str:
        return f"{self.registry}/partscat/{name}:{tag or self.tag}"

    def environ(self, **extra: str) -> dict[str, str]:
        """The process environment an operator's shell has after `eval "$(scripts/cluster.sh env)"`."""
        return {
            **os.environ,
            **self.env,
            "STACK_NAME": STACK,
            # X-Upstream-Addr on every answer: the tests see which task (and so which node) answered.
            "EDGE_DEBUG_HEADERS": "1",
            # Three dockerd and every task on 2 cores: tasks start several times slower than on one node.
            "READY_TIMEOUT_SECONDS": "600",
            "UPDATE_TIMEOUT_SECONDS": "900",
            **extra,
        }

    def docker(self, *args: str, node: str | None = None, timeout: float = 120, check: bool = True) -> str:
        """`docker` on the manager, or with `node` on that node's own engine."""
        env = self.environ()
        if node is not None:
            env["DOCKER_HOST"] = self.node_hosts[node]
        result = _run(["docker", *args], env=env, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def script(self, name: str, *args: str, timeout: float = 900, **extra: str) -> subprocess.CompletedProcess[str]:
        return _run(["bash", str(REPO_ROOT / "scripts" / name), *args], env=self.environ(**extra), timeout=timeout)

    def running_tasks(self, service: str) -> dict[str, str]:
        """Task id -> node of the running tasks of a stack service (django-blue, nginx...)."""
        out = self.docker(
            "service", "ps", f"{STACK}_{service}", "--no-trunc", "--filter", "desired-state=running", "--format",
            "{{.ID}} {{.Node}} {{.CurrentState}}",
        )  # fmt: skip
        return {line.split()[0]: line.split()[1] for line in out.splitlines() if " Running " in f" {line} "}

    def live_colour(self) -> str:
        label = '{{index .Spec.Labels "partscat.live-colour"}}'
        return self.docker("service", "inspect", f"{STACK}_nginx", "--format", label).strip() or "blue"

    def service_image(self, service: str) -> str:
        spec = "{{.Spec.TaskTemplate.ContainerSpec.Image}}"
        return self.docker("service", "inspect", f"{STACK}_{service}", "--format", spec).strip()

    def converged(self, service: str, replicas: int) -> bool:
        """`replicas` running tasks, no update in progress."""
        state = self.docker("service", "inspect", f"{STACK}_{service}", "--format", "{{json .UpdateStatus}}").strip()
        updating = '"State":"updating"' in state or '"State":"rollback_started"' in state
        return not updating and len(self.running_tasks(service)) == replicas

    def wait_converged(self, service: str, replicas: int, timeout: float = 600) -> float:
        return wait_until(lambda: self.converged(service, replicas), timeout=timeout, what=f"{service} converged")

    def app_addresses_on(self, node: str) -> set[str]:
        """The overlay addresses of the app tasks running on `node` (what X-Upstream-Addr names)."""
        ids = self.docker("ps", "-q", "--filter", f"label=com.docker.stack.namespace={STACK}", node=node).split()
        if not ids:
            return set()
        rows = self.docker(
            "inspect", *ids, "--format",
            '{{index .Config.Labels "com.docker.swarm.service.name"}} '
            "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
            node=node,
        )  # fmt: skip
        addresses: set[str] = set()
        for row in rows.splitlines():
            service, *found = row.split()
            if any(service.startswith(f"{STACK}_{app}-") for app in APPS):
                addresses.update(found)
        return addresses


def env_lines(text: str) -> dict[str, str]:
    """`export NAME=value` lines (values may be quoted) as a mapping."""
    values = {}
    for raw in text.splitlines():
        line = raw.strip().removeprefix("export ").strip()
        if "=" in line and not line.startswith("#"):
            name, value = line.split("=", 1)
            values[name] = value.strip("'\"")
    return values


def edge_addresses(text: str) -> tuple[tuple[str, int], ...]:
    pairs = (line.strip().rsplit(":", 1) for line in text.splitlines() if line.strip())
    return tuple((host, int(port)) for host, port in pairs)


def git_short_head() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    ).stdout.strip()


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])
