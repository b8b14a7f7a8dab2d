"""commands/canary.py (bluegreen.sh canary | share): the share stepped by what the edge measured per colour,
on an in-memory swarm whose Nginx task reports scripted traffic."""

from __future__ import annotations

import json
from pathlib import Path

from tests.scripts.control_plane.fake_swarm import FakeClock, FakeSwarm, checkout, events, run_cli, stack_swarm

WATCHER = "docker exec nginx-1 python3 /opt/nginx/upstream_watcher.py"
FAST, SLOW = 3, 11  # buckets: 25-50 ms, 750-1000 ms
QUICK = ("--interval", "1", "--min-step-seconds", "2", "--step-timeout", "6", "--min-requests", "50")


def candidate_swarm(**traffic: tuple[int, int, int]) -> FakeSwarm:
    swarm = stack_swarm(candidate="green", idle_replicas=2)
    swarm.traffic = dict(traffic)
    return swarm


def labels(swarm: FakeSwarm) -> dict[str, str]:
    return dict(swarm.services["partscat_nginx"]["Spec"]["Labels"])


def shares(swarm: FakeSwarm) -> list[str]:
    """What each Nginx task was told, in order: canary shares and switches."""
    return [change.removeprefix(f"{WATCHER} ") for change in swarm.changes if change.startswith(WATCHER)]


def test_a_good_candidate_is_stepped_up_and_promoted(tmp_path: Path) -> None:
    swarm = candidate_swarm(blue=(100, 0, FAST), green=(30, 0, FAST))
    verdict = tmp_path / "verdict.json"
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "canary", *QUICK, "--json", str(verdict), clock=FakeClock())
    assert run.exit_code == 0, run.stderr
    assert shares(swarm) == ["canary 5", "canary 25", "canary 50", "live green"]
    assert labels(swarm)["partscat.live-colour"] == "green"
    assert (labels(swarm)["partscat.canary-percent"], labels(swarm)["partscat.canary-allow"]) == ("0", "")
    document = json.loads(verdict.read_text())
    assert document["outcome"] == "promoted"
    steps = document["details"]["steps"]
    assert [(step["percent"], step["decision"]) for step in steps] == [(5, "promote"), (25, "promote"), (50, "promote")]
    # Judged after --min-step-seconds: two reads of 30 requests each.
    assert steps[0]["green"]["requests"] == 60
    assert [event["event"] for event in events(tmp_path)][1:-1] == [
        "canary_step",
        "canary_step",
        "canary_step",
        "canary_promote",
    ]
    assert "promoted: green is live; next: bluegreen.sh finish" in run.stderr


def test_a_candidate_that_fails_one_search_in_twenty_is_switched_back_at_once(tmp_path: Path) -> None:
    swarm = candidate_swarm(blue=(100, 0, FAST), green=(40, 2, FAST))
    verdict = tmp_path / "verdict.json"
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "canary", *QUICK, "--json", str(verdict), clock=FakeClock())
    assert run.exit_code == 1
    assert shares(swarm) == ["canary 5", "canary 0"]
    assert labels(swarm)["partscat.live-colour"] == "blue"
    assert labels(swarm)["partscat.canary-percent"] == "0"
    assert "ERROR: switched everyone back to blue: error rate 5.00 % against the live colour's 0.00 %" in run.stderr
    document = json.loads(verdict.read_text())
    assert document["outcome"] == "switched_back"
    assert document["details"]["steps"][0]["decision"] == "switch_back"
    assert "canary_switch_back" in [event["event"] for event in events(tmp_path)]


def test_a_slow_candidate_is_switched_back_on_p99(tmp_path: Path) -> None:
    swarm = candidate_swarm(blue=(100, 0, FAST), green=(40, 0, SLOW))
    run = run_cli(
        swarm, checkout(tmp_path), "bluegreen", "canary", *QUICK, "--max-p99-increase-ms", "250", clock=FakeClock()
    )
    assert run.exit_code == 1
    assert "p99 988 ms against the live colour's 50 ms (+938 ms; at most +250 ms allowed)" in run.stderr
    assert shares(swarm)[-1] == "canary 0"


def test_thin_traffic_holds_says_why_and_leaves_the_share(tmp_path: Path) -> None:
    swarm = candidate_swarm(blue=(100, 0, FAST), green=(2, 0, FAST))
    verdict = tmp_path / "verdict.json"
    clock = FakeClock()
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "canary", *QUICK, "--json", str(verdict), clock=clock)
    assert run.exit_code == 3
    assert shares(swarm) == ["canary 5"]
    assert labels(swarm)["partscat.canary-percent"] == "5"
    assert "held at 5 % on green: thin traffic: the candidate had 12 and the live colour 600" in run.stderr
    assert json.loads(verdict.read_text())["outcome"] == "held"
    assert clock.elapsed == 6


def test_a_dry_run_judges_and_changes_nothing(tmp_path: Path) -> None:
    swarm = candidate_swarm(blue=(100, 0, FAST), green=(40, 4, FAST))
    run = run_cli(swarm, checkout(tmp_path), "bluegreen", "--dry-run", "canary", *QUICK, clock=FakeClock())
    assert run.exit_code == 1
    assert swarm.changes == []
    assert "canary 5  # dry run: not run" in run.stderr
    assert "step 5 %: switch_back: error rate 10.00 %" in run.stderr


def test_no_canary_without_a_ready_candidate_and_bad_options_are_refused(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    nothing = run_cli(stack_swarm(), root, "bluegreen", "canary")
    assert nothing.exit_code == 1
    assert "no candidate beside the live colour: run bluegreen.sh deploy first" in nothing.stderr
    scaled_down = run_cli(stack_swarm(candidate="green", idle_replicas=0), root, "bluegreen", "canary")
    assert "the candidate green is not ready" in scaled_down.stderr
    for options in (["--steps", "50,25"], ["--min-requests", "0"], ["--allow", "a;b"], ["--bogus"]):
        swarm = candidate_swarm()
        refused = run_cli(swarm, root, "bluegreen", "canary", *options)
        assert refused.exit_code == 1, options
        assert swarm.changes == [], options


def test_share_sets_the_share_and_allowlist_and_status_shows_them(tmp_path: Path) -> None:
    swarm = candidate_swarm()
    root = checkout(tmp_path)
    run = run_cli(swarm, root, "bluegreen", "share", "10", "--allow", "team-qa", "--allow", "bot")
    assert run.exit_code == 0, run.stderr
    assert shares(swarm) == ["canary 10 team-qa bot"]
    assert (labels(swarm)["partscat.canary-percent"], labels(swarm)["partscat.canary-allow"]) == ("10", "team-qa bot")
    status = run_cli(swarm, root, "bluegreen", "status")
    assert "canary:     10 % of users on green; X-Canary team-qa, bot always on green" in status.stdout
    assert "thresholds: min-requests=100 max-error-rate-increase=1pp max-p99-increase=300ms (defaults)" in status.stdout
    # A switch back ends the canary, in each Nginx task and in the labels.
    back = run_cli(swarm, root, "bluegreen", "rollback")
    assert back.exit_code == 0, back.stderr
    assert labels(swarm)["partscat.canary-percent"] == "0"
    assert "canary:     none" in run_cli(swarm, root, "bluegreen", "status").stdout
    assert run_cli(swarm, root, "bluegreen", "share", "101").exit_code == 1
    # The canary's own options mean nothing to share: refused, not ignored.
    steps = run_cli(swarm, root, "bluegreen", "share", "10", "--steps", "5")
    assert steps.exit_code == 1
    assert "bluegreen.sh share: unrecognized arguments: --steps 5" in steps.stderr


def test_finish_refuses_while_users_are_on_the_candidate(tmp_path: Path) -> None:
    swarm = candidate_swarm()
    root = checkout(tmp_path)
    assert run_cli(swarm, root, "bluegreen", "share", "5").exit_code == 0
    refused = run_cli(swarm, root, "bluegreen", "finish")
    assert refused.exit_code == 1
    assert "a canary is in progress on green: run bluegreen.sh canary, switch or rollback first" in refused.stderr
    assert not any("scale" in change for change in swarm.changes)
    assert run_cli(swarm, root, "bluegreen", "rollback").exit_code == 0
    assert run_cli(swarm, root, "bluegreen", "finish").exit_code == 0
