"""commands/bluegreen.py (bluegreen.sh): deploy beside the live colour, checked through Nginx; switch and
switch back; finish; status. The state lives in the nginx service's labels."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.scripts.control_plane.fake_swarm import (
    FakeClock,
    FakeSwarm,
    checkout,
    events,
    run_cli,
    stack_swarm,
    task_json,
    update_status,
)

PROBE = "python3 /opt/healthcheck/http_probe.py"
LIVE_GREEN = "docker exec nginx-1 python3 /opt/nginx/upstream_watcher.py live green"
LIVE_BLUE = "docker exec nginx-1 python3 /opt/nginx/upstream_watcher.py live blue"


def labels(swarm: FakeSwarm) -> dict[str, str]:
    return dict(swarm.services["partscat_nginx"]["Spec"]["Labels"])


def test_deploy_starts_the_idle_colour_checks_it_and_records_the_candidate(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.images |= {"partscat/django:rc1", "partscat/fastapi:rc1"}
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "deploy", "rc1")
    assert run.exit_code == 0, run.stderr
    assert swarm.changes == [
        "docker service update --detach --quiet --no-resolve-image --image partscat/django:rc1 --replicas 2 "
        "partscat_django-green",
        "docker service update --detach --quiet --no-resolve-image --image partscat/fastapi:rc1 --replicas 2 "
        "partscat_fastapi-green",
        "docker service update --detach --quiet --label-add partscat.candidate-colour=green partscat_nginx",
    ]
    assert "starting django-green: partscat/django:rc1 x2 (live: django-blue partscat/django:d2)" in run.stderr
    assert "deployed green beside blue; next: bluegreen.sh switch" in run.stderr
    probes = [" ".join(call) for call in swarm.calls if PROBE in " ".join(call)]
    # Every check on the preview listener first, then on the live colour's.
    assert [probe.rsplit(" ", 1)[1] for probe in probes] == [
        "http://127.0.0.1:8081/mark/",
        "http://127.0.0.1:8081/model/",
        "http://127.0.0.1:8081/search/part/",
        "http://127.0.0.1:8081/fastapi/search/part/",
        "http://127.0.0.1:8082/mark/",
        "http://127.0.0.1:8082/model/",
        "http://127.0.0.1:8082/search/part/",
        "http://127.0.0.1:8082/fastapi/search/part/",
    ]
    assert '--host localhost --json {"page": 1}' in probes[2]


def test_a_deploy_over_a_running_idle_colour_waits_until_its_tasks_run_the_release(tmp_path: Path) -> None:
    """A previous candidate still runs, healthy and in rotation: that is not the new release being ready."""
    swarm = stack_swarm(candidate="green", idle_replicas=2)
    swarm.images |= {"partscat/django:rc2", "partscat/fastapi:rc2"}
    # Swarm has not replaced a task yet: each still runs the release before.
    swarm.tasks = [
        task_json(f"t-{app}-{slot}", f"partscat_{app}-green.{slot}", image)
        for app, image in (("django", "partscat/django:d1"), ("fastapi", "partscat/fastapi:f1"))
        for slot in (1, 2)
    ]
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "deploy", "rc2", environ={"READY_TIMEOUT_SECONDS": "6"})
    assert run.exit_code == 1
    assert "green not healthy and in rotation after 6s" in run.stderr
    assert not any(PROBE in " ".join(call) for call in swarm.calls), "smoke-checked the release before"
    # Once they run it (digest or not), the deploy goes on.
    swarm.tasks = [
        task_json(f"t-{app}-{slot}", f"partscat_{app}-green.{slot}", f"partscat/{app}:rc2@sha256:{slot}")
        for app in ("django", "fastapi")
        for slot in (1, 2)
    ]
    assert run_cli(swarm, tmp_path, "bluegreen", "deploy", "rc2").exit_code == 0


def test_deploy_without_a_tag_uses_the_images_built_last(tmp_path: Path) -> None:
    swarm = stack_swarm()
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "deploy")
    assert run.exit_code == 0, run.stderr
    assert "--image partscat/django:d2 --replicas 2 partscat_django-green" in swarm.changes[0]


def test_a_colour_that_fails_its_preview_checks_is_no_candidate(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.exec_codes["127.0.0.1:8081/search/part/"] = 1
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "deploy")
    assert run.exit_code == 1
    assert "green fails its smoke checks through Nginx's preview; not a candidate (users still on blue)" in run.stderr
    assert labels(swarm)["partscat.candidate-colour"] == ""


def test_a_migration_that_breaks_the_live_colour_stops_before_a_switch(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.exec_codes["127.0.0.1:8082/mark/"] = 1
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "deploy")
    assert run.exit_code == 1
    assert "after the new release's migrations the live colour blue fails its smoke checks" in run.stderr
    assert labels(swarm)["partscat.candidate-colour"] == ""


def test_a_colour_that_rolls_back_is_no_candidate(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.shown_replicas["partscat_django-green"] = "0/2"
    swarm.scripted_updates["partscat_django-green"] = [update_status("rollback_completed")]
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "deploy")
    assert run.exit_code == 1
    assert "django-green did not turn healthy (update rollback_completed); the live colour is untouched" in run.stderr


def test_deploy_of_an_image_that_is_not_here(tmp_path: Path) -> None:
    swarm = stack_swarm()
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "deploy", "nope")
    assert run.exit_code == 1
    assert "image partscat/django:nope not found locally" in run.stderr
    assert swarm.changes == []


def test_switch_tells_every_nginx_task_and_records_the_colour(tmp_path: Path) -> None:
    swarm = stack_swarm(candidate="green", idle_replicas=2)
    clock = FakeClock()
    verdict = tmp_path / "verdict.json"
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "switch", "--json", str(verdict), clock=clock)
    assert run.exit_code == 0, run.stderr
    assert swarm.changes == [
        LIVE_GREEN,
        "docker service update --detach --quiet --label-add partscat.live-colour=green "
        "--label-add partscat.live-since=2026-12-06T06:00:00Z --label-add partscat.canary-percent=0 "
        "--label-add partscat.canary-allow= partscat_nginx",
    ]
    assert "new requests go to green (1 nginx task(s), 0s)" in run.stderr
    assert labels(swarm)["partscat.live-colour"] == "green"
    switch = [event for event in events(tmp_path) if event["event"] == "switch"]
    assert [(event["previous"], event["live"]) for event in switch] == [("blue", "green")]
    assert json.loads(verdict.read_text())["outcome"] == "switched"


def test_switch_again_is_idempotent(tmp_path: Path) -> None:
    swarm = stack_swarm(live="green", candidate="green", idle_replicas=2)
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "switch")
    assert run.exit_code == 0, run.stderr
    assert "green is already live; making sure every nginx task agrees" in run.stderr


@pytest.mark.parametrize(
    ("candidate", "idle_replicas", "message"),
    [
        ("", 2, "no candidate: run bluegreen.sh deploy first"),
        ("green", 0, "green is not fully healthy and in rotation; not switching"),
    ],
)
def test_switch_refuses(tmp_path: Path, candidate: str, idle_replicas: int, message: str) -> None:
    swarm = stack_swarm(candidate=candidate, idle_replicas=idle_replicas)
    verdict = tmp_path / "verdict.json"
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "switch", "--json", str(verdict))
    assert run.exit_code == 1
    assert f"[bluegreen.sh] ERROR: {message}" in run.stderr
    assert swarm.changes == []
    assert json.loads(verdict.read_text())["outcome"] == "refused"


def test_a_switch_an_nginx_task_refuses_fails(tmp_path: Path) -> None:
    swarm = stack_swarm(candidate="green", idle_replicas=2)
    swarm.exec_codes["live green"] = 1
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "switch")
    assert run.exit_code == 1
    assert (
        "nginx task nginx-1 did not switch to green (no task of it in rotation? run bluegreen.sh status)" in run.stderr
    )
    assert labels(swarm)["partscat.live-colour"] == "blue"


def test_rollback_goes_back_without_checks(tmp_path: Path) -> None:
    swarm = stack_swarm(live="green", candidate="green", idle_replicas=2)
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "rollback")
    assert run.exit_code == 0, run.stderr
    assert swarm.changes[0] == LIVE_BLUE
    assert labels(swarm)["partscat.live-colour"] == "blue"
    assert [event["event"] for event in events(tmp_path)][1] == "rollback"
    nothing = run_cli(stack_swarm(), tmp_path, "bluegreen", "rollback")
    assert "no candidate: nothing was deployed with bluegreen.sh" in nothing.stderr


def test_finish_retires_the_colour_that_is_not_live_and_is_idempotent(tmp_path: Path) -> None:
    swarm = stack_swarm(live="green", candidate="green", idle_replicas=2)
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "finish")
    assert run.exit_code == 0, run.stderr
    assert swarm.changes == [
        "docker service scale --detach partscat_django-blue=0",
        "docker service scale --detach partscat_fastapi-blue=0",
    ]
    assert "retired blue; green serves alone" in run.stderr
    again = run_cli(swarm, tmp_path, "bluegreen", "finish")
    assert again.exit_code == 0
    assert len(swarm.changes) == 2


def test_status(tmp_path: Path) -> None:
    swarm = stack_swarm(candidate="green")
    swarm.services["partscat_nginx"]["Spec"]["Labels"]["partscat.live-since"] = "2026-12-06T05:41:02Z"
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "status")
    assert run.exit_code == 0, run.stderr
    assert run.stdout.splitlines() == [
        "live:       blue since 2026-12-06T05:41:02Z",
        "candidate:  green",
        "canary:     none",
        "thresholds: min-requests=100 max-error-rate-increase=1pp max-p99-increase=300ms (defaults)",
        "blue (live)",
        "  django   partscat/django:d2                           healthy/desired 2/2    in nginx rotation 2",
        "  fastapi  partscat/fastapi:f2                          healthy/desired 2/2    in nginx rotation 2",
        "green",
        "  django   partscat/django:d1                           healthy/desired 0/0    in nginx rotation 0",
        "  fastapi  partscat/fastapi:f1                          healthy/desired 0/0    in nginx rotation 0",
    ]
    assert swarm.changes == []
    assert events(tmp_path) == []  # a read: no event


def test_status_without_an_nginx_task_on_this_node(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.containers["partscat_nginx"] = []
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "status")
    assert run.stdout.splitlines()[5].endswith("in nginx rotation ?")


def test_not_deployed_and_usage(tmp_path: Path) -> None:
    missing = run_cli(FakeSwarm(), checkout(tmp_path), "bluegreen", "switch")
    assert (missing.exit_code, "stack partscat is not deployed (make up)" in missing.stderr) == (1, True)
    usage = run_cli(stack_swarm(), tmp_path, "bluegreen", "flip")
    assert usage.exit_code == 1
    assert "usage: bluegreen.sh deploy [IMAGE_TAG] | switch | rollback | finish | status" in usage.stderr


def test_a_dry_run_of_switch_changes_no_label_and_no_nginx(tmp_path: Path) -> None:
    swarm = stack_swarm(candidate="green", idle_replicas=2)
    before = copy.deepcopy(swarm.services)
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "switch", "--dry-run")
    assert run.exit_code == 0, run.stderr
    assert swarm.changes == []
    assert swarm.services == before
    assert f"+ {LIVE_GREEN}  # dry run: not run" in run.stderr
    assert "--label-add partscat.live-colour=green" in run.stderr
    assert events(tmp_path) == []


def test_a_dry_run_of_deploy_and_finish_change_nothing(tmp_path: Path) -> None:
    swarm = stack_swarm(live="green", candidate="green", idle_replicas=2)
    before = copy.deepcopy(swarm.services)
    for step in ("deploy", "finish"):
        run = run_cli(swarm, checkout(tmp_path), "--dry-run", "bluegreen", step)
        assert run.exit_code == 0, run.stderr
    assert swarm.changes == []
    assert swarm.services == before
    assert not any(PROBE in " ".join(call) for call in swarm.calls)  # no smoke checks of a colour not started
