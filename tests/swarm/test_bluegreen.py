"""Blue-green under load: deploy the idle colour, switch, roll back, switch again, finish; no request fails,
no user request reaches the new colour before the switch, and the rollback takes effect within a second."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.swarm.harness import (
    APPS,
    HTTP_PORT,
    STACK,
    docker,
    image_variant,
    live_colour,
    script,
    service_task_addresses,
    upstream_addresses,
)
from tests.swarm.loadgen import LoadGenerator, Outcome, assert_no_request_failed
from tests.swarm.report import Scenario, scenario_of

pytestmark = pytest.mark.swarm

SETTLE_SECONDS = 3
# From calling rollback.sh to the first user request on the old colour: the control plane starts, reads the
# swarm (docker info, the nginx service's labels, its tasks) and runs one docker exec that flips the colour in
# every Nginx worker at once. About 0.6 s on an idle machine; 1.6 s once in CI with the load generator and the
# whole stack on the same 2 cores; 2.65 s here on 2026-12-07, a day this machine served half its usual
# /healthz. A fixed bound measured the machine, so the bound is relative: `bluegreen.sh status` (the same
# start and reads, no exec), timed just before under the same load, plus this margin for the exec and the next
# request. No task starts or stops: a rollback that started one would take many seconds more (a Django task
# needs most of 6 s to boot under load), far past the margin.
SWITCH_BACK_MARGIN_SECONDS = 1.5


def _other(colour: str) -> str:
    return "green" if colour == "blue" else "blue"


def _colour_addresses(colour: str) -> set[str]:
    return {address for app in APPS for address in service_task_addresses(f"{app}-{colour}").values()}


def _answered_by(outcomes: list[Outcome]) -> set[str]:
    return {outcome.upstream.rsplit(":", 1)[0] for outcome in outcomes if outcome.upstream}


def _stack_tasks() -> set[str]:
    """Every running task of the stack (container ids)."""
    return set(docker("ps", "-q", "--filter", f"label=com.docker.stack.namespace={STACK}").split())


def _nginx_labels() -> str:
    return docker("service", "inspect", f"{STACK}_nginx", "--format", "{{json .Spec.Labels}}")


def _run(step: str, *args: str) -> subprocess.CompletedProcess[str]:
    result = script("bluegreen.sh", step, *args)
    assert result.returncode == 0, f"bluegreen.sh {step}: {result.stderr[-3000:]}"
    return result


def test_blue_green_release_fails_no_request(swarm_stack: str, zero_downtime_report: list[Scenario]) -> None:
    old, new = live_colour(), _other(live_colour())
    # A new release of both apps under one tag, as a build would produce it.
    tag = f"bluegreen-test-{int(time.time())}"
    for app in APPS:
        docker("tag", image_variant(app, "bluegreen"), f"partscat/{app}:{tag}")
    old_addresses = _colour_addresses(old)
    moments: dict[str, float] = {}

    with LoadGenerator("127.0.0.1", HTTP_PORT) as load:
        time.sleep(SETTLE_SECONDS)
        load.mark("change")
        _run("deploy", tag)
        moments["deployed"] = load.mark("deployed")
        new_addresses = _colour_addresses(new)
        assert new_addresses and not new_addresses & old_addresses
        assert all(upstream_addresses(f"{app}-{new}") for app in APPS)

        # A dry run of the switch, and of a deploy, prints what it would run and changes nothing.
        tasks_before, labels_before = _stack_tasks(), _nginx_labels()
        for dry_run in (("bluegreen.sh", "--dry-run", "switch"), ("deploy.sh", "--dry-run")):
            result = script(*dry_run)
            assert result.returncode == 0, f"{dry_run}: {result.stderr[-3000:]}"
            assert "# dry run: not run" in result.stderr, result.stderr[-3000:]
        assert live_colour() == old
        assert (_stack_tasks(), _nginx_labels()) == (tasks_before, labels_before)

        _run("switch")
        moments["switched"] = load.mark("switched")
        assert live_colour() == new
        _run("switch")  # idempotent: still the new colour
        assert live_colour() == new
        time.sleep(SETTLE_SECONDS)

        started = time.monotonic()
        _run("status")
        reading_seconds = time.monotonic() - started
        moments["rollback_called"] = load.mark("rollback_called")
        _run("rollback")
        moments["rolled_back"] = load.mark("rolled_back")
        assert live_colour() == old
        time.sleep(SETTLE_SECONDS)

        load.mark("switch_again_called")
        _run("switch")
        moments["switched_again"] = load.mark("switched_again")
        time.sleep(SETTLE_SECONDS)
        _run("finish")
        _run("finish")  # idempotent
        load.mark("changed")
        status = _run("status").stdout
        time.sleep(SETTLE_SECONDS)

    rollback_seconds = moments["rolled_back"] - moments["rollback_called"]
    zero_downtime_report.append(
        scenario_of(
            "blue-green: deploy, switch, rollback, switch, finish",
            load,
            note=f"the new colour ({new}) was checked through Nginx's preview listener before the switch and got no "
            f"user request until then; rollback returned in {rollback_seconds:.2f} s ({reading_seconds:.2f} s for "
            "status, which reads the same).",
        )
    )
    assert_no_request_failed(load)

    def between(start: str, end: str) -> list[Outcome]:
        return load.window(f"{start}..{end}", start, end).outcomes

    # Before the switch, users reached only the old colour (the new one was on the preview listener only).
    assert _answered_by(between("start", "deployed")) <= old_addresses
    # Requests that started once switch returned went to the new colour; after the rollback, to the old one.
    assert _answered_by(between("switched", "rollback_called")) <= new_addresses
    assert _answered_by(between("rolled_back", "switch_again_called")) <= old_addresses
    # Within seconds of calling rollback, users were on the old colour again.
    back = [
        outcome
        for outcome in between("rollback_called", "switch_again_called")
        if outcome.upstream.rsplit(":", 1)[0] in old_addresses
    ]
    assert back, "no request reached the old colour after the rollback"
    back_after = back[0].started - moments["rollback_called"]
    bound = reading_seconds + SWITCH_BACK_MARGIN_SECONDS
    assert back_after < bound, (
        f"users back on {old} {back_after:.2f} s after rollback was called; bound {bound:.2f} s"
        f" (status took {reading_seconds:.2f} s)"
    )
    assert _answered_by(between("switched_again", "end")) <= new_addresses

    assert live_colour() == new
    for app in APPS:
        assert (
            docker(
                "service", "inspect", f"{STACK}_{app}-{old}", "--format", "{{.Spec.Mode.Replicated.Replicas}}"
            ).strip()
            == "0"
        )
        assert (
            docker(
                "service", "inspect", f"{STACK}_{app}-{new}", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}"
            ).strip()
            == f"partscat/{app}:{tag}"
        )
    assert f"live:       {new}" in status
