"""Every service of the stack runs all its replicas, and each running task's healthcheck passes."""

from __future__ import annotations

import json

import pytest

from tests.swarm.harness import docker, swarm_service

pytestmark = pytest.mark.swarm

# django and fastapi: their live colour (blue-green); the idle colour normally runs 0 replicas.
SERVICES = [
    "postgres", "redis", "redis-cache", "django", "fastapi", "celery-worker", "celery-beat", "nginx", "edge-socket",
]  # fmt: skip


@pytest.mark.parametrize("service", SERVICES)
def test_service_runs_healthy(swarm_stack: str, service: str) -> None:
    name = swarm_service(service)
    spec = json.loads(docker("service", "inspect", name))[0]["Spec"]
    if "Global" in spec["Mode"]:
        # The edge (nginx, edge-socket): one task on each node labelled partscat.edge=true, this one node here.
        assert spec["TaskTemplate"]["Placement"]["Constraints"] == ["node.labels.partscat.edge == true"]
        wanted = 1
    else:
        wanted = spec["Mode"]["Replicated"]["Replicas"]
    assert wanted >= 1, f"{name} is deployed with 0 replicas"
    containers = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={name}").split()
    assert len(containers) == wanted, f"{name}: {len(containers)} containers for {wanted} replicas"
    for container in containers:
        health = docker("inspect", "--format", "{{.State.Health.Status}}", container).strip()
        assert health == "healthy", f"{name} task {container[:12]} is {health}"
