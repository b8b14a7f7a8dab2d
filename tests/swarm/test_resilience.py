"""Under a steady request loop through Nginx: a killed task, scaling up and down, a rolling update and a
failed update that rolls back. Each must fail no request (no 5xx, no connection error), and Nginx must
stop routing to a task that is gone or going.
"""

from __future__ import annotations

import subprocess
import time
from functools import partial

import pytest

from tests.swarm.harness import (
    STACK,
    RequestLoop,
    docker,
    http_call,
    script,
    service_running_replicas,
    service_task_addresses,
    upstream_addresses,
    wait_until,
)

pytestmark = pytest.mark.swarm

SETTLE_SECONDS = 3


def _routes_exactly(service: str, addresses: set[str]) -> bool:
    return upstream_addresses(service) == addresses


def _converged(service: str, replicas: int) -> bool:
    tasks = service_task_addresses(service)
    return (
        service_running_replicas(service) == (replicas, replicas)
        and len(tasks) == replicas
        and upstream_addresses(service) == set(tasks.values())
    )


def _update_state(service: str) -> str:
    return docker(
        "service", "inspect", f"{STACK}_{service}", "--format", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}"
    ).strip()


def _update_completed(service: str) -> bool:
    return _update_state(service) == "completed"


def test_killed_task_is_replaced_and_no_request_fails(swarm_stack: str) -> None:
    wait_until(lambda: _converged("django", 2), timeout=120, what="django at 2 healthy tasks")
    victim, victim_address = next(iter(service_task_addresses("django").items()))

    with RequestLoop() as loop:
        time.sleep(SETTLE_SECONDS)
        docker("kill", victim)
        killed_at = time.monotonic()
        dropped_at = wait_until(
            lambda: victim_address not in upstream_addresses("django"), timeout=30, what="nginx dropping the task"
        )
        wait_until(lambda: _converged("django", 2), timeout=180, what="a replacement task in rotation")
        time.sleep(SETTLE_SECONDS)

    after_kill = [o for o in loop.outcomes if o.started > killed_at]
    sent_to_victim_after_drop = [
        o for o in loop.outcomes if o.started > dropped_at and o.upstream.startswith(victim_address + ":")
    ]
    assert loop.failures() == [], loop.summary()
    assert len(after_kill) > 20, loop.summary()
    assert sent_to_victim_after_drop == []


def test_scaling_up_uses_every_task_and_scaling_down_fails_no_request(swarm_stack: str) -> None:
    wait_until(lambda: _converged("django", 2), timeout=120, what="django at 2 healthy tasks")
    try:
        docker("service", "scale", "--detach", f"{STACK}_django=4")
        wait_until(lambda: _converged("django", 4), timeout=240, what="4 django tasks in rotation")
        four = set(service_task_addresses("django").values())

        served_by = {http_call("GET", "/mark/").upstream.rsplit(":", 1)[0] for _ in range(200)}
        assert served_by == four, f"tasks {sorted(four)} but answers came from {sorted(served_by)}"

        with RequestLoop() as loop:
            time.sleep(SETTLE_SECONDS)
            docker("service", "scale", "--detach", f"{STACK}_django=2")
            scaled_at = time.monotonic()
            wait_until(lambda: len(upstream_addresses("django")) == 2, timeout=60, what="nginx at 2 django tasks")
            two = upstream_addresses("django")
            # Removed tasks drain, then stop: wait until they are gone from the node, too.
            wait_until(lambda: _converged("django", 2), timeout=120, what="django back at 2 tasks")
            time.sleep(SETTLE_SECONDS)

        removed = four - two
        late = [
            o
            for o in loop.outcomes
            if o.started > scaled_at + 5 and o.path == "/mark/" and o.upstream.rsplit(":", 1)[0] in removed
        ]
        assert loop.failures() == [], loop.summary()
        assert late == [], f"{len(late)} requests went to removed tasks after they left rotation"
    finally:
        docker("service", "scale", "--detach", f"{STACK}_django=2")
        wait_until(lambda: _converged("django", 2), timeout=180, what="django back at 2 tasks")


def test_rolling_update_fails_no_request(swarm_stack: str) -> None:
    before = {service: set(service_task_addresses(service)) for service in ("django", "fastapi")}

    with RequestLoop() as loop:
        time.sleep(SETTLE_SECONDS)
        for service in ("django", "fastapi"):
            # --force replaces every task (start-first, one at a time) without changing the spec.
            docker("service", "update", "--force", "--detach", f"{STACK}_{service}")
        for service in ("django", "fastapi"):
            wait_until(partial(_update_completed, service), timeout=300, what=f"{service} update")
            wait_until(partial(_converged, service, 2), timeout=60, what=f"{service} in rotation")
        time.sleep(SETTLE_SECONDS)

    assert loop.failures() == [], loop.summary()
    for service in ("django", "fastapi"):
        assert not before[service] & set(service_task_addresses(service)), f"{service} tasks were not replaced"


def test_failing_update_rolls_back_and_fails_no_request(swarm_stack: str) -> None:
    service = f"{STACK}_django"
    good_image = docker("service", "inspect", service, "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}").strip()
    broken_image = good_image.split(":")[0] + ":broken-entrypoint-test"
    # A new version whose process dies at start: its tasks never become healthy.
    dockerfile = f'FROM {good_image}\nENTRYPOINT ["sh", "-c", "echo this build is broken >&2; exit 3"]\n'
    subprocess.run(
        ["docker", "build", "-q", "-t", broken_image, "-"],
        input=dockerfile,
        text=True,
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        with RequestLoop() as loop:
            time.sleep(SETTLE_SECONDS)
            result = script("update.sh", "django", broken_image, timeout=600)
            wait_until(lambda: _converged("django", 2), timeout=120, what="django back at 2 healthy tasks")
            time.sleep(SETTLE_SECONDS)

        running_image = docker("service", "inspect", service, "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}")
        assert result.returncode != 0, result.stderr
        assert "rollback" in result.stderr
        assert running_image.strip() == good_image
        assert loop.failures() == [], loop.summary()
    finally:
        docker("image", "rm", "--force", broken_image, check=False)
