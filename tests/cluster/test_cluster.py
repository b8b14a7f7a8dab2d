"""The stack on a three-node swarm, fed from a registry, under the usual load through every edge node.

Each scenario runs under the Swarm suite's load (keep-alive and new-connection clients, POSTs nobody retries),
spread over the edge nodes' loopback ports, and fails on a single failed request unless it says otherwise.
They share one cluster and run in this order: each leaves the stack healthy for the next, and the lost worker
comes last.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from functools import partial

import pytest

from tests.cluster.harness import APP_REPLICAS, APP_WORKER, APPS, NODES, STACK, Cluster
from tests.swarm.harness import REPO_ROOT, wait_until
from tests.swarm.loadgen import REFUSED, RESET, ConnectionProber, LoadGenerator, assert_no_request_failed
from tests.swarm.report import Scenario, scenario_of

pytestmark = pytest.mark.cluster

SETTLE_SECONDS = 3


def _load(cluster: Cluster) -> LoadGenerator:
    host, port = cluster.edges[0]
    return LoadGenerator(host, port, edges=cluster.edges)


def _live_services(cluster: Cluster) -> list[str]:
    live = cluster.live_colour()
    return [f"{app}-{live}" for app in APPS]


def _app_nodes(cluster: Cluster) -> set[str]:
    return {node for service in _live_services(cluster) for node in cluster.running_tasks(service).values()}


def _variant(cluster: Cluster, app: str, release: str) -> str:
    """A new release of an app's image, built here and pushed: what CI would push for the next commit."""
    base, image = cluster.image(app), cluster.image(app, f"{cluster.tag}-{release}")
    dockerfile = f"FROM {base}\nLABEL partscat.test-release={release}\n"
    build = subprocess.run(
        ["docker", "build", "--quiet", "-t", image, "-"], input=dockerfile, capture_output=True, text=True, check=False
    )
    assert build.returncode == 0, build.stderr
    push = subprocess.run(["docker", "push", "--quiet", image], capture_output=True, text=True, check=False)
    assert push.returncode == 0, push.stderr
    return image


def test_the_typed_stack_deploy_of_a_new_release_is_a_rolling_update(
    cluster: Cluster, cluster_report: list[Scenario]
) -> None:
    """`REGISTRY=... TAG=... docker stack deploy -c stack.yml --with-registry-auth partscat`, typed, with a new
    release pushed under a new tag: the apps, workers and edge roll start-first; PostgreSQL and Redis, which go
    by their own tags (postgres:15, redis:7), are not restarted."""
    tag = f"{cluster.tag}-typed"
    push = cluster.script("build-images.sh", "--push", cluster.registry, "--tag", tag, timeout=900)
    assert push.returncode == 0, push.stderr[-2000:]
    for app in APPS:
        _variant(cluster, app, "typed")  # the apps' release differs in content too, under the same tag
    data = {service: set(cluster.running_tasks(service)) for service in ("postgres", "redis", "redis-cache")}
    live = cluster.live_colour()
    with _load(cluster) as load:
        time.sleep(SETTLE_SECONDS)
        load.mark("change")
        deploy = subprocess.run(
            ["docker", "stack", "deploy", "-c", "stack.yml", "--with-registry-auth", STACK],
            capture_output=True, text=True, check=False, cwd=REPO_ROOT, timeout=600,
            env=cluster.environ(REGISTRY=cluster.registry, TAG=tag, **_release_state(live)),
        )  # fmt: skip
        assert deploy.returncode == 0, deploy.stderr[-2000:]
        for app in APPS:
            wait_until(partial(_runs, cluster, f"{app}-{live}", cluster.image(app, tag)), timeout=60, what=app)
            cluster.wait_converged(f"{app}-{live}", APP_REPLICAS, timeout=900)
        for service in ("nginx", "edge-socket", "celery-worker"):
            wait_until(partial(_update_settled, cluster, service), timeout=600, what=f"{service} updated")
        load.mark("changed")
        time.sleep(SETTLE_SECONDS)
    cluster_report.append(scenario_of("cluster: the typed docker stack deploy of a new release", load))
    assert_no_request_failed(load)
    assert {service: set(cluster.running_tasks(service)) for service in data} == data, "a data service restarted"
    for service, name in (("nginx", "nginx"), ("edge-socket", "edge-socket"), ("celery-worker", "django")):
        assert _runs(cluster, service, cluster.image(name, tag)), f"{service} is not on the new release"
    for app in APPS:
        assert _update_state(cluster, f"{app}-{live}") == "completed"
    assert cluster.live_colour() == live


def _release_state(live: str) -> dict[str, str]:
    """What the typed command must be told while a colour is live (README, "The cluster"): stack.yml's defaults
    are blue live at 2 replicas, green idle at 0, and `docker stack deploy` reads nothing from the swarm."""
    idle = "green" if live == "blue" else "blue"
    state = {"LIVE_COLOUR": live}
    for app in APPS:
        state[f"{app.upper()}_{live.upper()}_REPLICAS"] = str(APP_REPLICAS)
        state[f"{app.upper()}_{idle.upper()}_REPLICAS"] = "0"
    return state


def _runs(cluster: Cluster, service: str, image: str) -> bool:
    return cluster.service_image(service).split("@")[0] == image


def _update_settled(cluster: Cluster, service: str) -> bool:
    """No update of the service (`docker stack deploy` changed nothing of it) or its update completed."""
    return _update_state(cluster, service) in ("", "completed")


def test_the_edge_updated_node_by_node_refuses_no_connection(cluster: Cluster, cluster_report: list[Scenario]) -> None:
    edges = cluster.running_tasks("nginx")
    assert len(set(edges.values())) == len(cluster.edges), f"one Nginx per edge node: {edges}"
    probers = [ConnectionProber(host, port) for host, port in cluster.edges]
    with _load(cluster) as load:
        for prober in probers:
            prober.__enter__()
        time.sleep(SETTLE_SECONDS)
        load.mark("change")
        # A global service updates one node at a time (parallelism 1), start-first on each node.
        cluster.docker("service", "update", "--force", "--quiet", f"{STACK}_nginx", timeout=600)
        wait_until(lambda: set(cluster.running_tasks("nginx")).isdisjoint(edges), timeout=300, what="new nginx tasks")
        load.mark("changed")
        time.sleep(SETTLE_SECONDS)
        for prober in probers:
            prober.__exit__()
    for prober in probers:
        cluster_report.append(
            scenario_of(
                f"cluster: Nginx updated node by node (prober on {prober.host}:{prober.port})",
                load,
                prober=prober,
            )
        )
    assert_no_request_failed(load)
    for prober in probers:
        assert prober.counts["ok"] > 0
        assert prober.counts[REFUSED] == prober.counts[RESET] == 0, prober.describe()
        assert sum(prober.counts.values()) == prober.counts["ok"], prober.describe()


def test_a_drained_worker_hands_its_tasks_over_without_a_failed_request(
    cluster: Cluster, cluster_report: list[Scenario]
) -> None:
    services = _live_services(cluster)
    _rebalance_onto(cluster, APP_WORKER, services)
    assert APP_WORKER in _app_nodes(cluster), f"no app task on {APP_WORKER} to drain"
    with _load(cluster) as load:
        time.sleep(SETTLE_SECONDS)
        load.mark("change")
        cluster.docker("node", "update", "--availability", "drain", APP_WORKER)
        for service in services:
            cluster.wait_converged(service, APP_REPLICAS)
        wait_until(lambda: APP_WORKER not in _app_nodes(cluster), timeout=300, what=f"{APP_WORKER} drained")
        cluster.docker("node", "update", "--availability", "active", APP_WORKER)
        load.mark("changed")
        time.sleep(SETTLE_SECONDS)
    cluster_report.append(scenario_of(f"cluster: {APP_WORKER} drained, then active again", load))
    assert_no_request_failed(load)
    availability = cluster.docker("node", "inspect", APP_WORKER, "--format", "{{.Spec.Availability}}").strip()
    assert availability == "active"


def _rebalance_onto(cluster: Cluster, node: str, services: list[str]) -> None:
    """Two replicas on three nodes leave one node without an app task, and a start-first update moves it: the
    new task goes where the service has fewest (spread: node.id) while the old one still counts. A CI run
    found the typed deploy had left both apps on node-1 and node-2. Swarm never rebalances by itself; what an
    operator does is a forced update, whose first new task goes to the node the service lacks."""
    for service in services:
        if node in cluster.running_tasks(service).values():
            continue
        cluster.docker("service", "update", "--force", "--quiet", f"{STACK}_{service}", timeout=600)
        cluster.wait_converged(service, APP_REPLICAS)


def test_a_rolling_update_typed_as_in_the_task_pulls_from_the_registry(
    cluster: Cluster, cluster_report: list[Scenario]
) -> None:
    """`docker service update --image $REGISTRY/partscat/<app>:<tag> partscat_<app>-<colour>`, as typed, for
    both apps at once, pulled by every node from the registry; the worker drained before is back in use."""
    images = {app: _variant(cluster, app, "rolling") for app in APPS}
    services = dict(zip(APPS, _live_services(cluster), strict=True))
    failures: list[str] = []

    def update(app: str) -> None:
        result = subprocess.run(
            ["docker", "service", "update", "--quiet", "--image", images[app], f"{STACK}_{services[app]}"],
            capture_output=True, text=True, check=False, env=cluster.environ(), cwd=REPO_ROOT, timeout=900,
        )  # fmt: skip
        if result.returncode != 0:
            failures.append(f"{app}: {result.stderr.strip()}")

    with _load(cluster) as load:
        time.sleep(SETTLE_SECONDS)
        load.mark("change")
        threads = [threading.Thread(target=update, args=(app,)) for app in APPS]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for app in APPS:
            cluster.wait_converged(services[app], APP_REPLICAS)
        load.mark("changed")
        time.sleep(SETTLE_SECONDS)
    cluster_report.append(scenario_of("cluster: rolling update of django and fastapi from the registry", load))
    assert failures == []
    assert_no_request_failed(load)
    for app in APPS:
        assert cluster.service_image(services[app]).split("@")[0] == images[app]
        assert _update_state(cluster, services[app]) == "completed"
    # The worker drained before runs app tasks again: Swarm moves nothing back by itself, an update's new tasks
    # go where the service has fewest (spread: node.id). Each app stays on two nodes at least; one a node is
    # not promised: during a start-first update the old task still counts, and ties break either way (one run
    # ended with both apps on node-1 and node-3).
    assert APP_WORKER in _app_nodes(cluster)
    for app in APPS:
        assert len(set(cluster.running_tasks(services[app]).values())) >= 2, cluster.running_tasks(services[app])


def test_an_update_to_a_tag_the_registry_lacks_is_rolled_back_and_nothing_fails(
    cluster: Cluster, cluster_report: list[Scenario]
) -> None:
    """Typed, Swarm's own update rolls back when the new task cannot pull (failure_action: rollback); through
    update.sh the manager's pull fails first, and it exits non-zero saying why, having changed nothing."""
    missing = cluster.image("django", f"{cluster.tag}-never-pushed")
    service = _live_services(cluster)[0]
    before = cluster.service_image(service)
    with _load(cluster) as load:
        time.sleep(SETTLE_SECONDS)
        load.mark("change")
        cluster.docker(
            "service", "update", "--quiet", "--image", missing, f"{STACK}_{service}", timeout=900, check=False
        )
        wait_until(
            lambda: _update_state(cluster, service) == "rollback_completed", timeout=600, what=f"{service} rolled back"
        )
        cluster.wait_converged(service, APP_REPLICAS)
        refused = cluster.script("update.sh", "django", missing, timeout=900)
        load.mark("changed")
        time.sleep(SETTLE_SECONDS)
    cluster_report.append(scenario_of("cluster: update to a tag the registry lacks (typed, then update.sh)", load))
    assert cluster.service_image(service) == before
    assert refused.returncode != 0, refused.stderr[-2000:]
    assert f"the registry cannot give {missing}" in refused.stderr, refused.stderr[-2000:]
    assert "service update" not in refused.stderr, "update.sh changed something"
    assert_no_request_failed(load)


def _update_state(cluster: Cluster, service: str) -> str:
    status = cluster.docker("service", "inspect", f"{STACK}_{service}", "--format", "{{json .UpdateStatus}}")
    return str((json.loads(status) or {}).get("State", ""))


def test_a_deploy_while_the_registry_is_down_changes_nothing_and_says_why(
    cluster: Cluster, cluster_report: list[Scenario]
) -> None:
    images = {service: cluster.service_image(service) for service in _live_services(cluster)}
    subprocess.run(["docker", "stop", "partscat-registry"], capture_output=True, check=True, timeout=60)
    try:
        with _load(cluster) as load:
            time.sleep(SETTLE_SECONDS)
            load.mark("change")
            result = cluster.script("deploy.sh", REGISTRY=cluster.registry, TAG=f"{cluster.tag}-rolling", timeout=900)
            load.mark("changed")
            time.sleep(SETTLE_SECONDS)
    finally:
        subprocess.run(["docker", "start", "partscat-registry"], capture_output=True, check=True, timeout=60)
    cluster_report.append(scenario_of("cluster: a deploy while the registry is down", load))
    assert result.returncode != 0
    assert "cannot be pulled; nothing was changed" in result.stderr, result.stderr[-2000:]
    assert {service: cluster.service_image(service) for service in images} == images
    assert_no_request_failed(load)


# The canary step on the cluster: half the users, judged as soon as each colour had 30 requests (2 s at least).
# The judgement itself is the Swarm suite's (tests/swarm/test_canary.py); here the point is that the share
# reaches every edge node, so a cold candidate on slow Docker-in-Docker nodes is given a wide p99 allowance.
CANARY = (
    "--steps", "50", "--interval", "1", "--min-step-seconds", "2", "--min-requests", "30",
    "--max-p99-increase-ms", "2000",
)  # fmt: skip
CANARY_USERS = 100


def test_blue_green_switches_every_edge_node_at_once(cluster: Cluster, cluster_report: list[Scenario]) -> None:
    """deploy, canary (half the users, then promoted), rollback, switch, finish through the control plane with
    PARTSCAT_NODE_HOSTS: during the canary both colours answer through every edge node; once the promotion (or
    a switch, or rollback) returns, no request through any edge node lands on the other colour."""
    old = cluster.live_colour()
    new = "green" if old == "blue" else "blue"
    for app in APPS:
        _variant(cluster, app, "bluegreen")
    moments: dict[str, float] = {}
    colour_of: dict[str, str] = {}
    host, port = cluster.edges[0]
    with LoadGenerator(host, port, edges=cluster.edges, users=CANARY_USERS) as load:
        time.sleep(SETTLE_SECONDS)
        load.mark("change")
        steps = (("deploy", f"{cluster.tag}-bluegreen"), ("canary", *CANARY), ("rollback",), ("switch",), ("finish",))
        for step in steps:
            result = cluster.script("bluegreen.sh", *step, timeout=900, REGISTRY=cluster.registry, TAG=cluster.tag)
            assert result.returncode == 0, f"bluegreen.sh {' '.join(step)}: {result.stderr[-3000:]}"
            moments[f"{step[0]}-{len(moments)}"] = load.mark(f"{step[0]}-{len(moments)}")
            if step[0] == "deploy":
                # Both colours run now, each task on its own address (the old colour's go at finish).
                colour_of = _colour_by_address(cluster)
            if step[0] in ("canary", "switch", "rollback"):
                time.sleep(SETTLE_SECONDS)
                moments[f"settled-{len(moments)}"] = load.mark(f"settled-{len(moments)}")
        load.mark("changed")
        time.sleep(SETTLE_SECONDS)
    cluster_report.append(
        scenario_of("cluster: blue-green deploy, canary (50 %, promoted), rollback, switch, finish", load)
    )
    assert_no_request_failed(load)
    assert cluster.live_colour() == new
    # During the canary, each edge node sent users to both colours: the share reached every node.
    canary = load.window("canary", "deploy-0", "canary-1").outcomes
    for edge in range(len(cluster.edges)):
        seen = {outcome.release.split("-", 1)[0] for outcome in canary if outcome.client % len(cluster.edges) == edge}
        assert seen >= {old, new}, f"edge {cluster.edges[edge]} answered only {seen} during the canary"
    # Which colour answered each request after each switch returned, through either edge node.
    marks = list(moments)
    expected = {"canary-1": new, "rollback-3": old, "switch-5": new}
    for mark, colour in expected.items():
        following = marks[marks.index(mark) + 1]
        window = load.window(mark, mark, following).outcomes
        edges_seen = {outcome.client % len(cluster.edges) for outcome in window}
        assert edges_seen == set(range(len(cluster.edges))), f"{mark}: not every edge carried load"
        answered = {colour_of.get(outcome.upstream.rsplit(":", 1)[0], "?") for outcome in window if outcome.upstream}
        assert answered == {colour}, f"after {mark}: answered by {answered}"


def _colour_by_address(cluster: Cluster) -> dict[str, str]:
    """Overlay address -> colour of every running app task (task records on the manager, any node)."""
    colours = {}
    for app in APPS:
        for colour in ("blue", "green"):
            ids = cluster.running_tasks(f"{app}-{colour}")
            if not ids:
                continue
            addresses = cluster.docker(
                "inspect", *ids, "--format", "{{range .NetworksAttachments}}{{range .Addresses}}{{.}} {{end}}{{end}}"
            )
            colours.update(dict.fromkeys((address.split("/")[0] for address in addresses.split()), colour))
    return colours


# A partition: nothing resets the connections to the lost node's tasks. The bounds: a request in flight there
# ends by Nginx's read timeout (15 s, nginx.conf); each edge's watcher drops a task after three health probes
# time out (2 s each, nginx/upstream_watcher.py), polling every second; Swarm marks a node down after missed
# heartbeats (5 s, three missed: 8-17 s after the pause, swarmkit's dispatcher) and at once starts a new task for each
# of its slots on another node (replicated orchestrator, restartTasksByNodeID), which still has to start and pass
# its health check: 20-40 s expected, 150 s allowed.
HUNG_BOUND_SECONDS = 20
DROPPED_BOUND_SECONDS = 15
RESCHEDULED_BOUND_SECONDS = 150


def test_a_worker_lost_without_warning_costs_only_what_was_in_flight_on_it(
    cluster: Cluster, cluster_report: list[Scenario]
) -> None:
    """The worker's node container is paused: its processes freeze and its network goes silent, as in a
    partition. Failures are only requests that went to its tasks before every edge dropped them."""
    services = _live_services(cluster)
    lost = cluster.app_addresses_on(APP_WORKER)
    assert lost, f"no app task on {APP_WORKER}"
    times: dict[str, float] = {}
    with _load(cluster) as load:
        time.sleep(SETTLE_SECONDS)
        load.mark("change")
        subprocess.run(["docker", "pause", APP_WORKER], capture_output=True, check=True, timeout=60)
        paused = time.monotonic()
        try:
            times["dropped"] = -paused + wait_until(
                lambda: not (_in_rotation(cluster) & lost), timeout=120, what="every edge dropped the lost tasks"
            )
            load.mark("dropped")
            times["rescheduled"] = -paused + wait_until(
                lambda: all(_running_elsewhere(cluster, service) for service in services),
                timeout=300,
                what="Swarm started the lost tasks elsewhere",
            )
            load.mark("changed")
            time.sleep(SETTLE_SECONDS)
        finally:
            subprocess.run(["docker", "unpause", APP_WORKER], capture_output=True, check=True, timeout=60)
    failures = load.failures()
    hung = max((outcome.finished - outcome.started for outcome in failures), default=0.0)
    note = (
        f"{len(failures)} failed, all sent to {APP_WORKER}'s tasks before every edge dropped them; the longest "
        f"hung {hung:.1f} s; every edge dropped the tasks after {times['dropped']:.1f} s; Swarm ran them "
        f"elsewhere after {times['rescheduled']:.1f} s."
    )
    cluster_report.append(scenario_of(f"cluster: {APP_WORKER} lost (paused)", load, zero_required=False, note=note))
    dropped_at = load.marks["dropped"]
    for outcome in failures:
        # Sent before the edges knew, to a lost task (or its answer never came: no upstream header).
        assert outcome.started < dropped_at, outcome.describe()
        assert outcome.upstream.rsplit(":", 1)[0] in lost or not outcome.upstream, outcome.describe()
    assert hung <= HUNG_BOUND_SECONDS, note
    assert times["dropped"] <= DROPPED_BOUND_SECONDS, note
    assert times["rescheduled"] <= RESCHEDULED_BOUND_SECONDS, note
    # Once every edge had dropped them, nothing failed.
    assert load.window("after", "dropped", "end").failures() == []
    # The worker comes back as a node that runs nothing until the next update places tasks on it.
    wait_until(lambda: _node_ready(cluster, APP_WORKER), timeout=180, what=f"{APP_WORKER} ready again")


def _in_rotation(cluster: Cluster) -> set[str]:
    """The app addresses any reachable edge node's Nginx has in rotation."""
    addresses: set[str] = set()
    for node in NODES:
        if node == APP_WORKER:
            continue
        for container in cluster.docker(
            "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={STACK}_nginx", node=node
        ).split():
            state = json.loads(cluster.docker("exec", container, "cat", "/tmp/nginx/upstreams.json", node=node))
            for service in state.values():
                addresses.update(peer.rsplit(":", 1)[0] for peer in service.get("in_rotation", []))
    return addresses


def _running_elsewhere(cluster: Cluster, service: str) -> bool:
    nodes = list(cluster.running_tasks(service).values())
    return len(nodes) >= APP_REPLICAS and APP_WORKER not in nodes


def _node_ready(cluster: Cluster, node: str) -> bool:
    return cluster.docker("node", "inspect", node, "--format", "{{.Status.State}}").strip() == "ready"
