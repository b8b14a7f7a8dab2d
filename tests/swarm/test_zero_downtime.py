"""Every change a release makes, under load from real clients (tests/swarm/loadgen.py): keep-alive and
new-connection clients, GETs, search POSTs and a POST Nginx never retries. Each scenario fails on a single
failed request and states that its load would have shown a 100 ms outage; each adds a row to the
zero-downtime report (scripts/zero-downtime-report.sh).

Scenarios: a rolling update of django and fastapi to a new image; updates to an image that never turns
healthy and to one that turns healthy and then fails, both rolled back by Swarm; scaling up and down; a
killed task; a configuration change of the edge; and the edge itself: a forced Nginx update, an Nginx image
with Lua and watcher changes, and two broken Nginx images rolled back, each with a connection prober that
opens a new TCP connection every 5 ms and must see no refusal or reset.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from tests.swarm.harness import (
    HTTP_PORT,
    REPO_ROOT,
    docker,
    http_call,
    image_command,
    image_variant,
    script,
    service_containers,
    service_image,
    service_running_replicas,
    service_task_addresses,
    swarm_service,
    upstream_addresses,
    wait_until,
)
from tests.swarm.loadgen import ConnectionProber, LoadGenerator, Outcome, assert_no_request_failed
from tests.swarm.report import Scenario, scenario_of

pytestmark = pytest.mark.swarm

SETTLE_SECONDS = 3


def _under_load(change: Callable[[], None]) -> LoadGenerator:
    """Load for SETTLE_SECONDS, the change, SETTLE_SECONDS more; marks `change` and `changed`."""
    with LoadGenerator("127.0.0.1", HTTP_PORT) as load:
        time.sleep(SETTLE_SECONDS)
        load.mark("change")
        change()
        load.mark("changed")
        time.sleep(SETTLE_SECONDS)
    return load


def _scenario(report: list[Scenario], name: str, change: Callable[[], None], *, note: str = "") -> LoadGenerator:
    """_under_load, recorded as a row of the zero-downtime report (before any assertion, so failures show too)."""
    load = _under_load(change)
    report.append(scenario_of(name, load, note=note))
    return load


def _converged(service: str, replicas: int) -> bool:
    tasks = service_task_addresses(service)
    return (
        service_running_replicas(service) == (replicas, replicas)
        and len(tasks) == replicas
        and upstream_addresses(service) == set(tasks.values())
    )


def _upstream_ips(outcomes: list[Outcome], service: str) -> set[str]:
    """Task addresses that answered the requests routed to `service` (FastAPI lives under /fastapi/)."""
    fastapi = service.startswith("fastapi")
    return {
        outcome.upstream.rsplit(":", 1)[0]
        for outcome in outcomes
        if outcome.upstream and outcome.call.path.startswith("/fastapi/") == fastapi
    }


def test_rolling_update_to_a_new_image_fails_no_request(swarm_stack: str, zero_downtime_report: list[Scenario]) -> None:
    services = ("django", "fastapi")
    before = {service: set(service_task_addresses(service)) for service in services}
    images = {service: image_variant(service, "rolling") for service in services}

    def update_both() -> None:
        with ThreadPoolExecutor(len(services)) as pool:
            results = list(pool.map(lambda service: script("update.sh", service, images[service]), services))
        for result in results:
            assert result.returncode == 0, result.stderr[-2000:]
        for service in services:
            wait_until(partial(_converged, service, 2), timeout=60, what=f"{service} in rotation")

    load = _scenario(zero_downtime_report, "rolling update of django and fastapi (start-first)", update_both)
    assert_no_request_failed(load)
    for service in services:
        assert service_image(service) == images[service]
        assert not before[service] & set(service_task_addresses(service)), f"{service} tasks were not replaced"


def test_update_to_an_image_that_never_turns_healthy_rolls_back_unseen(
    swarm_stack: str, zero_downtime_report: list[Scenario]
) -> None:
    good_image = service_image("django")
    good_addresses = set(service_task_addresses("django").values())
    # A new version whose process dies at start: its tasks never become healthy.
    broken = image_variant(
        "django", "never-healthy", 'ENTRYPOINT ["sh", "-c", "echo this build is broken >&2; exit 3"]\n'
    )
    outcome: dict[str, object] = {}

    verdict_file = Path(tempfile.mkdtemp(prefix="partscat-verdict-")) / "verdict.json"

    def update() -> None:
        outcome["result"] = script("update.sh", "--json", str(verdict_file), "django", broken)
        wait_until(lambda: _converged("django", 2), timeout=120, what="django back at 2 healthy tasks")

    load = _scenario(zero_downtime_report, "update to an image that never turns healthy (rolled back)", update)
    result = outcome["result"]
    assert getattr(result, "returncode", 0) != 0 and "rollback" in getattr(result, "stderr", "")
    # The control plane says so in a form CI can read, where `docker service update` itself exits 0.
    verdict = json.loads(verdict_file.read_text())
    assert (verdict["ok"], verdict["outcome"], verdict["exit_code"]) == (False, "rolled_back", 1), verdict
    assert any(change["command"].startswith("docker service update") for change in verdict["changes"]), verdict
    assert service_image("django") == good_image
    assert_no_request_failed(load)
    during = load.window("during", "change", "changed")
    assert _upstream_ips(during.outcomes, "django") <= good_addresses, "a request reached a task of the broken version"


def test_update_to_an_image_that_fails_after_turning_healthy_rolls_back(
    swarm_stack: str, zero_downtime_report: list[Scenario]
) -> None:
    good_image = service_image("fastapi")
    # Healthy at first: 6 s after its /healthz first answers 200 (the watcher's probe, polled every second),
    # /healthz answers 503 (the watcher takes it out of rotation at its next poll), and 3 s after that it stops
    # and exits 1: a crash Swarm's update monitor counts as a failure. Counted from ready, not from the start:
    # at the end of a loaded suite the app once took most of a fixed 6 s to boot and was never seen serving.
    ready = "python /srv/healthcheck/http_probe.py http://127.0.0.1:8001/healthz --host localhost >/dev/null 2>&1"
    entrypoint = [
        "sh",
        "-c",
        f'/usr/local/bin/app-entrypoint "$@" & app=$!; until {ready}; do sleep 0.5; done; sleep 6; '
        ': >"$DRAIN_MARKER"; sleep 3; kill -TERM "$app"; wait "$app"; echo "this version gives up" >&2; exit 1',
        "app",
    ]
    failing = image_variant(
        "fastapi",
        "fails-later",
        f"ENTRYPOINT {json.dumps(entrypoint)}\nCMD {json.dumps(image_command(good_image))}\n",
    )
    outcome: dict[str, object] = {}
    seen_in_rotation: set[str] = set()

    def update() -> None:
        before = set(service_task_addresses("fastapi").values())

        def new_task_served() -> bool:
            seen_in_rotation.update(upstream_addresses("fastapi") - before)
            return bool(seen_in_rotation)

        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(script, "update.sh", "fastapi", failing)
            wait_until(new_task_served, timeout=120, what="the new version in rotation")
            outcome["result"] = future.result()
        wait_until(lambda: _converged("fastapi", 2), timeout=120, what="fastapi back at 2 healthy tasks")

    load = _scenario(
        zero_downtime_report,
        "update to an image that turns healthy, then fails (rolled back)",
        update,
        note="the new task served requests while it was healthy; it left rotation at the watcher's next "
        "poll after its /healthz turned 503, then exited 1, and Swarm rolled the update back before "
        "replacing the second old task (update_config.delay).",
    )
    result = outcome["result"]
    assert getattr(result, "returncode", 0) != 0 and "rollback" in getattr(result, "stderr", "")
    assert service_image("fastapi") == good_image
    assert_no_request_failed(load)


def test_scaling_up_uses_every_task_and_scaling_down_fails_no_request(
    swarm_stack: str, zero_downtime_report: list[Scenario]
) -> None:
    wait_until(lambda: _converged("fastapi", 2), timeout=120, what="fastapi at 2 healthy tasks")
    try:

        def scale_up() -> None:
            docker("service", "scale", "--detach", f"{swarm_service('fastapi')}=4")
            wait_until(lambda: _converged("fastapi", 4), timeout=240, what="4 fastapi tasks in rotation")

        load_up = _scenario(zero_downtime_report, "scale fastapi 2 -> 4", scale_up)
        assert_no_request_failed(load_up)
        four = set(service_task_addresses("fastapi").values())
        served_by = {http_call("POST", "/fastapi/search/part/", {}).upstream.rsplit(":", 1)[0] for _ in range(200)}
        assert served_by == four, f"tasks {sorted(four)} but answers came from {sorted(served_by)}"

        removed: set[str] = set()

        def scale_down() -> None:
            docker("service", "scale", "--detach", f"{swarm_service('fastapi')}=2")
            wait_until(lambda: len(upstream_addresses("fastapi")) == 2, timeout=60, what="nginx at 2 tasks")
            removed.update(four - upstream_addresses("fastapi"))
            # Removed tasks drain, then stop: wait until they are gone from the node, too.
            wait_until(lambda: _converged("fastapi", 2), timeout=120, what="fastapi back at 2 tasks")

        load_down = _scenario(zero_downtime_report, "scale fastapi 4 -> 2", scale_down)
        assert_no_request_failed(load_down)
        late = [
            outcome
            for outcome in load_down.outcomes
            if outcome.started > load_down.marks["changed"] and outcome.upstream.rsplit(":", 1)[0] in removed
        ]
        assert late == [], f"{len(late)} requests went to removed tasks after they left rotation"
    finally:
        docker("service", "scale", "--detach", f"{swarm_service('fastapi')}=2")
        wait_until(lambda: _converged("fastapi", 2), timeout=180, what="fastapi back at 2 tasks")


def test_killed_task_is_replaced_and_no_request_fails(swarm_stack: str, zero_downtime_report: list[Scenario]) -> None:
    wait_until(lambda: _converged("django", 2), timeout=120, what="django at 2 healthy tasks")
    victim, victim_address = next(iter(service_task_addresses("django").items()))
    moments: dict[str, float] = {}

    def kill() -> None:
        moments["kill_sent"] = time.monotonic()
        docker("kill", victim)
        moments["killed"] = time.monotonic()
        moments["dropped"] = wait_until(
            lambda: victim_address not in upstream_addresses("django"), timeout=30, what="nginx dropping the task"
        )
        wait_until(lambda: _converged("django", 2), timeout=180, what="a replacement task in rotation")

    load = _scenario(
        zero_downtime_report,
        "docker kill of a django task",
        kill,
        note="a request inside the killed process at the moment of the kill could not be saved by anyone when "
        "Nginx may not retry it (a POST that is no search: it may have run) or its answer had begun to reach the "
        "client (headers passed on, body cut off); the test excuses exactly those, and reports them.",
    )
    # The loss nobody can prevent: a request inside the killed process that Nginx may not retry, a POST that is
    # not a search, or any whose answer had begun to reach the client (its headers passed on, the body cut off
    # by the kill: a search once, in a full `make test` run).
    lost_in_process = [
        outcome
        for outcome in load.failures()
        if ((outcome.call.method == "POST" and outcome.call.expect == 405) or outcome.error == "IncompleteRead")
        and outcome.upstream.startswith(victim_address + ":")
        and outcome.started <= moments["killed"]
        and outcome.finished >= moments["kill_sent"]
    ]
    assert_no_request_failed(load, [o for o in load.failures() if o not in lost_in_process])
    # Each client has one request in flight at most, and the excused ones are a fifth of the traffic: if half the
    # clients were excused, the filter above would be hiding something else.
    assert len(lost_in_process) <= 4, lost_in_process
    sent_after_drop = [
        o for o in load.outcomes if o.started > moments["dropped"] and o.upstream.startswith(victim_address + ":")
    ]
    assert sent_after_drop == []


def test_edge_configuration_change_in_place_fails_no_request(
    swarm_stack: str, zero_downtime_report: list[Scenario]
) -> None:
    nginx_tasks = service_containers("nginx")
    original = (REPO_ROOT / "nginx" / "nginx.conf").read_text()
    marker = "        location = /fastapi {"
    assert marker in original
    changed = original.replace(
        marker,
        "        location = /edge-config-probe {\n            default_type application/json;\n"
        '            return 200 \'{"route": "added in place"}\';\n        }\n\n' + marker,
    )
    with tempfile.TemporaryDirectory() as folder:
        changed_path = Path(folder) / "nginx.conf"
        changed_path.write_text(changed)

        def apply_and_revert() -> None:
            result = script("edge-config.sh", str(changed_path))
            assert result.returncode == 0, result.stderr
            assert http_call("GET", "/edge-config-probe").json() == {"route": "added in place"}
            result = script("edge-config.sh")
            assert result.returncode == 0, result.stderr

        load = _scenario(
            zero_downtime_report,
            "edge configuration change in place (a route added, then removed: two drained reloads)",
            apply_and_revert,
            note="each reload is preceded by a 2 s drain in which the old workers answer `Connection: close`, "
            "so no idle keep-alive connection is closed under a client. Without the drain, 20 reloads lost 13 "
            "requests of keep-alive clients (issue 6).",
        )
    assert_no_request_failed(load)
    assert http_call("GET", "/edge-config-probe").status == 404
    assert service_containers("nginx") == nginx_tasks, "the nginx task was replaced"


def _edge_change(
    report: list[Scenario], name: str, change: Callable[[], None], *, note: str = ""
) -> tuple[LoadGenerator, ConnectionProber]:
    """_scenario with the connection prober running from before the load starts to after it ends."""
    with ConnectionProber("127.0.0.1", HTTP_PORT) as prober:
        time.sleep(0.2)
        load = _under_load(change)
        time.sleep(0.2)
    report.append(scenario_of(name, load, note=note, prober=prober))
    return load, prober


def _assert_edge_never_refused(load: LoadGenerator, prober: ConnectionProber) -> None:
    """Every request of the load answered, and every TCP connection the prober opened was accepted and served."""
    assert prober.counts["ok"] > 500, prober.describe()
    assert set(prober.counts) == {"ok"}, f"prober: {prober.describe()}; first failures: {prober.failures[:5]}"
    assert_no_request_failed(load)


@dataclass(frozen=True)
class EdgeForcedUpdate:
    forced: str  # the edge service forced to new tasks
    untouched: str  # the other edge service, whose task must stay
    name: str  # the report's row
    note: str
    log_says: str  # what the new task's log must say


EDGE_FORCED_UPDATES = [
    EdgeForcedUpdate(
        "nginx",
        "edge-socket",
        "Nginx forced update (start-first on the held socket)",
        "The public socket belongs to the socket holder (nginx/socket_holder.py): the new Nginx task inherits it, "
        "accepts beside the old one, and the old one drains and stops; no connection is refused or reset.",
        "nginx inherited http",
    ),
    EdgeForcedUpdate(
        "edge-socket",
        "nginx",
        "socket holder forced update (the new holder takes the socket from the old)",
        "The new holder asks the running one for its listening socket (nginx/socket_holder.py) before it takes "
        "over the Unix socket's path: the socket itself never closes, and the Nginx task is untouched.",
        "taken over",
    ),
]


@pytest.mark.parametrize("edge", EDGE_FORCED_UPDATES, ids=lambda edge: edge.forced)
def test_edge_forced_update_is_start_first_and_refuses_no_connection(
    swarm_stack: str, zero_downtime_report: list[Scenario], edge: EdgeForcedUpdate
) -> None:
    before, untouched_before = service_containers(edge.forced), service_containers(edge.untouched)

    def force() -> None:
        # --detach=false waits until the new task is healthy, the old one stopped and the monitor window passed.
        docker("service", "update", "--force", "--quiet", "--detach=false", swarm_service(edge.forced), timeout=300)

    load, prober = _edge_change(zero_downtime_report, edge.name, force, note=edge.note)
    _assert_edge_never_refused(load, prober)
    after = service_containers(edge.forced)
    assert after and not set(after) & set(before), f"the {edge.forced} task was not replaced"
    assert service_containers(edge.untouched) == untouched_before, f"the {edge.untouched} task was replaced"
    logs = subprocess.run(["docker", "logs", after[0]], capture_output=True, text=True, timeout=60, check=False)
    assert edge.log_says in logs.stderr, logs.stderr[-2000:]


def test_nginx_image_update_with_lua_and_watcher_changes_fails_no_request(
    swarm_stack: str, zero_downtime_report: list[Scenario]
) -> None:
    before_image, before_tasks = service_image("nginx"), service_containers("nginx")
    marker = f"edge-change-{time.time_ns()}"
    # A release that changes the Lua (a response header) and the watcher (its start-up log line).
    header_line = f'    ngx.header["X-Edge-Release"] = "{marker}"'
    tail = (
        "USER root\n"
        f"RUN sed -i 's|^function M.header_filter()$|&\\n{header_line}|' /etc/nginx/lua/edge_debug.lua\n"
        f"RUN sed -i 's|nginx started (pid|{marker}: nginx started (pid|' /opt/nginx/upstream_watcher.py\n"
        "USER www-data\n"
    )
    image = image_variant("nginx", "edge-change", tail)
    assert image != before_image

    def update() -> None:
        result = script("update.sh", "nginx", image)
        assert result.returncode == 0, result.stderr[-2000:]

    load, prober = _edge_change(zero_downtime_report, "Nginx image update (Lua and watcher changed)", update)
    _assert_edge_never_refused(load, prober)
    assert service_image("nginx") == image
    after = service_containers("nginx")
    assert after and not set(after) & set(before_tasks), "the nginx task was not replaced"
    assert http_call("GET", "/mark/").headers.get("x-edge-release") == marker
    logs = subprocess.run(["docker", "logs", after[0]], capture_output=True, text=True, timeout=60, check=False)
    assert f"{marker}: nginx started" in logs.stderr, logs.stderr[-2000:]


@pytest.mark.parametrize(
    ("variant", "dockerfile_tail"),
    [
        # nginx -t fails: the watcher exits before starting Nginx.
        pytest.param(
            "bad-config",
            "USER root\nRUN echo 'this is not a directive;' >> /etc/nginx/nginx.conf\nUSER www-data\n",
            id="bad-config",
        ),
        # The task crashes at start.
        pytest.param("crash", 'ENTRYPOINT ["python3", "-c", "raise SystemExit(3)"]\n', id="crash"),
    ],
)
def test_nginx_update_to_a_broken_image_rolls_back_unseen(
    swarm_stack: str, zero_downtime_report: list[Scenario], variant: str, dockerfile_tail: str
) -> None:
    before_image, before_tasks = service_image("nginx"), service_containers("nginx")
    image = image_variant("nginx", variant, dockerfile_tail)
    result: list[subprocess.CompletedProcess[str]] = []

    load, prober = _edge_change(
        zero_downtime_report,
        f"Nginx update to a broken image ({variant}), rolled back",
        lambda: result.append(script("update.sh", "nginx", image)),
    )
    assert result[0].returncode != 0, "update.sh should report the rollback"
    assert "rollback" in result[0].stderr, result[0].stderr[-2000:]
    _assert_edge_never_refused(load, prober)
    assert service_image("nginx") == before_image
    assert service_containers("nginx") == before_tasks, "the serving nginx task was disturbed"
