"""The cluster suite's one cluster: three Docker-in-Docker nodes and a TLS registry (`scripts/cluster.sh up`),
every image pushed once (`scripts/build-images.sh --push`), the stack deployed from the registry by the same
deploy command as on one node, pointed at the manager. Every test shares it.

Without a working Docker the fixture fails, so every test of the suite fails: it never skips.
"""

from __future__ import annotations

import functools
import http.client
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.harness import (
    APP_REPLICAS,
    Cluster,
    cluster_script,
    edge_addresses,
    env_lines,
    git_short_head,
    tail,
)
from tests.swarm.harness import REPO_ROOT, wait_until
from tests.swarm.report import Scenario, cluster_section_markdown, timelines_write

# Three dockerd in containers on 2 cores: pulling every image into them and starting the stack is slow.
UP_TIMEOUT_SECONDS = 1800
DEPLOY_TIMEOUT_SECONDS = 1200


def _fail(what: str, result: object) -> None:
    stderr = getattr(result, "stderr", "")
    stdout = getattr(result, "stdout", "")
    code = getattr(result, "returncode", "?")
    pytest.fail(
        f"{what} exited {code}; the cluster suite needs a working Docker Engine.\n"
        f"--- stderr (tail) ---\n{tail(stderr)}\n--- stdout (tail) ---\n{tail(stdout)}",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    """The cluster with the stack deployed from the registry and converged."""
    up = cluster_script("up", timeout=UP_TIMEOUT_SECONDS)
    if up.returncode != 0:
        _fail("scripts/cluster.sh up", up)
    env = env_lines(cluster_script("env").stdout)
    edges = edge_addresses(cluster_script("edges").stdout)
    assert {"DOCKER_HOST", "REGISTRY", "PARTSCAT_NODE_HOSTS"} <= set(env), env
    assert len(edges) >= 2, f"cluster.sh edges: {edges}"
    # One tag per commit: what CI tests is what it pushed.
    cluster = Cluster(env=env, edges=edges, tag=f"c{git_short_head()}")
    push = cluster.script(
        "build-images.sh", "--push", cluster.registry, "--tag", cluster.tag, timeout=UP_TIMEOUT_SECONDS
    )
    if push.returncode != 0:
        _fail("scripts/build-images.sh --push", push)
    deploy = cluster.script(
        "deploy.sh",
        timeout=DEPLOY_TIMEOUT_SECONDS + 60,
        REGISTRY=cluster.registry,
        TAG=cluster.tag,
        DEPLOY_TIMEOUT_SECONDS=str(DEPLOY_TIMEOUT_SECONDS),
        DJANGO_REPLICAS=str(APP_REPLICAS),
        FASTAPI_REPLICAS=str(APP_REPLICAS),
    )
    if deploy.returncode != 0:
        _fail("scripts/deploy.sh on the cluster", deploy)
    # Every edge node's Nginx has both apps' live colour in rotation before the first test sends load.
    for host, port in edges:
        wait_until(functools.partial(_edge_serves, host, port), timeout=300, what=f"edge {host}:{port} serving")
    return cluster


def _edge_serves(host: str, port: int) -> bool:
    """Both apps answer through this edge node."""
    calls = (("GET", "/mark/", None), ("POST", "/fastapi/search/part/", b"{}"))
    for method, path, body in calls:
        connection = http.client.HTTPConnection(host, port, timeout=5)
        try:
            connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                return False
        except OSError:
            return False
        finally:
            connection.close()
    return True


@pytest.fixture(scope="session")
def cluster_report() -> Iterator[list[Scenario]]:
    """Scenarios append themselves here; CLUSTER_REPORT names the file their section of the report goes to. The
    timelines go beside the report the section is appended to (ZERO_DOWNTIME_REPORT), else beside the section."""
    scenarios: list[Scenario] = []
    yield scenarios
    path = os.environ.get("CLUSTER_REPORT")
    if path and scenarios:
        report = Path(os.environ.get("ZERO_DOWNTIME_REPORT") or path)
        timelines = timelines_write(scenarios, report, prefix="cluster", repo_root=REPO_ROOT)
        Path(path).write_text(cluster_section_markdown(scenarios, REPO_ROOT, timelines=timelines), encoding="utf-8")
