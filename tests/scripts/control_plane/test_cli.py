"""cli.py: options anywhere, exit codes, the verdict whatever the end, the event log, the entry points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from scripts.control_plane.cli import Options, UsageError, options_split
from scripts.control_plane.docker import Completed, Output
from tests.scripts.control_plane.fake_swarm import (
    FakeSwarm,
    checkout,
    events,
    run_cli,
    service_json,
    stack_swarm,
    update_status,
)
from tests.servers import ROOT


def test_options_may_come_anywhere_before_a_double_dash() -> None:
    assert options_split(["update", "--dry-run", "django", "img", "--json", "v.json"]) == (
        Options(dry_run=True, json_file=Path("v.json")),
        ["update", "django", "img"],
    )
    assert options_split(["--json=out/v.json", "--verbose", "status"]) == (
        Options(json_file=Path("out/v.json"), verbose=True),
        ["status"],
    )
    assert options_split(["edge-config", "--", "--dry-run"]) == (Options(), ["edge-config", "--dry-run"])
    with pytest.raises(UsageError):
        options_split(["deploy", "--json"])


@pytest.mark.parametrize("args", [[], ["launch"], ["deploy", "--json"]])
def test_the_cli_own_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    run = run_cli(FakeSwarm(), tmp_path, *args)
    assert run.exit_code == 2
    assert "usage: stackctl.py" in run.stderr


def test_a_bad_setting_is_named_and_the_verdict_says_so(tmp_path: Path) -> None:
    verdict = tmp_path / "v.json"
    run = run_cli(FakeSwarm(), tmp_path, "status", "--json", str(verdict), environ={"HTTP_PORT": "eighty"})
    assert run.exit_code == 1
    assert "[status.sh] ERROR: HTTP_PORT must be a whole number (1..65535), got 'eighty'" in run.stderr
    assert json.loads(verdict.read_text())["reason"] == "HTTP_PORT must be a whole number (1..65535), got 'eighty'"


def test_the_event_log_of_a_run(tmp_path: Path) -> None:
    swarm = stack_swarm(candidate="green", idle_replicas=2)
    run_cli(swarm, checkout(tmp_path), "bluegreen", "switch")
    log = events(tmp_path)
    assert [event["event"] for event in log] == ["command_started", "switch", "command_finished"]
    assert len({event["run"] for event in log}) == 1
    assert log[0]["args"] == "switch"
    assert (log[-1]["exit_code"], log[-1]["outcome"]) == (0, "switched")
    assert (tmp_path / ".cache" / ".gitignore").read_text() == "*\n"


def test_the_event_log_file_is_named_by_the_environment(tmp_path: Path) -> None:
    elsewhere = tmp_path / "logs" / "events.jsonl"
    swarm = stack_swarm(candidate="green", idle_replicas=2)
    run_cli(swarm, checkout(tmp_path), "bluegreen", "switch", environ={"STACK_EVENTS_FILE": str(elsewhere)})
    assert len(elsewhere.read_text().splitlines()) == 3
    assert events(tmp_path) == []


def test_the_verdict_of_a_refusal(tmp_path: Path) -> None:
    verdict = tmp_path / "v.json"
    run = run_cli(stack_swarm(), checkout(tmp_path), "bluegreen", "switch", "--json", str(verdict))
    assert run.exit_code == 1
    document = json.loads(verdict.read_text())
    assert {key: document[key] for key in ("command", "args", "ok", "exit_code", "outcome", "reason")} == {
        "command": "bluegreen",
        "args": ["switch"],
        "ok": False,
        "exit_code": 1,
        "outcome": "refused",
        "reason": "no candidate: run bluegreen.sh deploy first",
    }
    assert document["services"]["partscat_django-blue"] == {
        "image": "partscat/django:d2",
        "replicas": "2/2",
        "update_state": "",
        "update_message": "",
    }
    assert document["changes"] == []
    assert document["started_at"].endswith("Z") and document["seconds"] >= 0
    # The error is the last line said.
    assert run.stderr.splitlines()[-1] == "[bluegreen.sh] ERROR: no candidate: run bluegreen.sh deploy first"


class FailingChanges(FakeSwarm):
    """A swarm that refuses every `docker service update` with exit code 5."""

    def __call__(
        self,
        argv: Sequence[str],
        *,
        stdin_text: str | None = None,
        stdin_path: Path | None = None,
        output: Output = Output.CAPTURE,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Completed:
        if list(argv[1:3]) == ["service", "update"]:
            self.calls.append(tuple(argv))
            return Completed(5, "", "Error response from daemon: rpc error: update out of sequence")
        return super().__call__(argv, stdin_text=stdin_text, stdin_path=stdin_path, output=output, cwd=cwd, env=env)


def test_a_failed_docker_change_exits_with_its_code_as_set_e_did(tmp_path: Path) -> None:
    swarm = FailingChanges(services={"partscat_redis": service_json("partscat_redis", "img:1")}, images={"img:2"})
    run = run_cli(swarm, checkout(tmp_path), "update", "redis", "img:2")
    assert run.exit_code == 5
    assert "update out of sequence" in run.stderr
    assert (
        "ERROR: docker service update --detach --quiet --no-resolve-image --image img:2 partscat_redis failed (exit 5)"
        in (run.stderr)
    )


class Interrupted(FakeSwarm):
    def __call__(self, argv: Sequence[str], **options: object) -> Completed:
        if "ps" in argv:
            raise KeyboardInterrupt
        return super().__call__(argv)


def test_an_interrupt_exits_130_and_still_writes_the_verdict(tmp_path: Path) -> None:
    swarm = Interrupted(services={"partscat_redis": service_json("partscat_redis", "img:1")}, images={"img:2"})
    swarm.scripted_updates["partscat_redis"] = [update_status("updating")]
    verdict = tmp_path / "v.json"
    run = run_cli(swarm, checkout(tmp_path), "update", "redis", "img:2", "--json", str(verdict))
    assert run.exit_code == 130
    assert json.loads(verdict.read_text())["outcome"] == "interrupted"


def test_secret_names_is_the_list_down_removes(tmp_path: Path) -> None:
    run = run_cli(FakeSwarm(), tmp_path, "secret-names", environ={"STACK_NAME": "staging"})
    assert run.stdout.splitlines()[:2] == ["staging_db_owner_password", "staging_db_owner_url"]
    assert run.exit_code == 0


def entry(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {key: value for key, value in os.environ.items() if key != "STACK_NAME"}
    return subprocess.run(
        [sys.executable, *argv], cwd=cwd, env=environ, capture_output=True, text=True, timeout=60, check=False
    )


def test_stackctl_py_runs_from_any_directory(tmp_path: Path) -> None:
    result = entry(str(ROOT / "scripts" / "stackctl.py"), "secret-names", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "partscat_db_owner_password"
    usage = entry(str(ROOT / "scripts" / "stackctl.py"), cwd=tmp_path)
    assert usage.returncode == 2


def test_python_m_from_the_checkout() -> None:
    result = entry("-m", "scripts.control_plane", "secret-names", cwd=ROOT)
    assert result.returncode == 0, result.stderr
