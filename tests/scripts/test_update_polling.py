"""The one Swarm update-polling loop (scripts/lib.sh wait_for_update) and what update.sh and rollback.sh decide.

The scripts run for real in bash against a stub ``docker`` on PATH that answers a scripted sequence of
UpdateStatus states (the last one repeats) and records the commands that change something.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.servers import ROOT

STUB_DOCKER = r"""#!/usr/bin/env bash
set -eu
case "$1 ${2:-}" in
    "info ") exit 0 ;;
    "image inspect") exit 0 ;;
    "service inspect")
        case "$*" in
            *UpdateStatus.State*)
                # Pop the next scripted state; the last one stays.
                state="$(head -1 "${STUB_STATES}")"
                if [ "$(wc -l <"${STUB_STATES}")" -gt 1 ]; then sed -i 1d "${STUB_STATES}"; fi
                case "$*" in
                    *UpdateStatus.Message*) [ -z "${state}" ] || echo "${state}|swarm says ${state}" ;;
                    *) echo "${state}" ;;
                esac ;;
            *PreviousSpec.TaskTemplate*) echo "img:new -> img:old" ;;
            *PreviousSpec*) echo yes ;;
            *ContainerSpec.Image*) echo "img:current" ;;
            *) exit 0 ;;
        esac ;;
    "service update" | "service rollback") echo "$*" >>"${STUB_CALLS}" ;;
    "service ps") echo "task-1 img:new Failed starting" ;;
    *) echo "stub docker: unexpected: $*" >&2; exit 99 ;;
esac
"""


def run(tmp_path: Path, script: str, states: list[str], *, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    stub = tmp_path / "bin" / "docker"
    stub.parent.mkdir(exist_ok=True)
    stub.write_text(STUB_DOCKER)
    stub.chmod(0o755)
    (tmp_path / "states").write_text("".join(f"{state}\n" for state in states))
    environ = {
        **os.environ,
        "PATH": f"{stub.parent}:{os.environ['PATH']}",
        "STUB_STATES": str(tmp_path / "states"),
        "STUB_CALLS": str(tmp_path / "calls"),
        "UPDATE_POLL_SECONDS": "0.01",
        "UPDATE_TIMEOUT_SECONDS": str(timeout),
        "STACK_NAME": "partscat",
    }
    return subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60, check=False
    )


WAIT = '. scripts/lib.sh; outcome=0; wait_for_update partscat_x "${UPDATE_TIMEOUT_SECONDS}" || outcome=$?; '
WAIT += 'echo "${outcome} ${UPDATE_STATE:-none} ${UPDATE_MESSAGE:-}"'


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (["updating", "updating", "completed"], "0 completed swarm says completed"),
        (["updating", "rollback_started", "rollback_completed"], "10 rollback_completed swarm says rollback_completed"),
        (["updating", "paused"], "11 paused swarm says paused"),
        (["rollback_started", "rollback_paused"], "11 rollback_paused swarm says rollback_paused"),
    ],
)
def test_wait_for_update_returns_how_the_update_ended(tmp_path: Path, states: list[str], expected: str) -> None:
    assert run(tmp_path, WAIT, states).stdout.strip() == expected


@pytest.mark.parametrize("states", [["updating"], [""]])
def test_wait_for_update_times_out_on_an_update_that_never_ends(tmp_path: Path, states: list[str]) -> None:
    assert run(tmp_path, WAIT, states, timeout=0).stdout.split()[:2] == ["12", states[0] or "none"]


def test_update_sh_succeeds_when_the_update_completes(tmp_path: Path) -> None:
    result = run(tmp_path, "bash scripts/update.sh redis img:new", ["updating", "completed"])
    assert result.returncode == 0, result.stderr
    assert "updated partscat_redis to img:new" in result.stderr
    assert "--image img:new" in (tmp_path / "calls").read_text()


@pytest.mark.parametrize("end", ["rollback_completed", "paused", "rollback_paused"])
def test_update_sh_fails_and_says_so_when_swarm_rolls_back_or_pauses(tmp_path: Path, end: str) -> None:
    result = run(tmp_path, "bash scripts/update.sh redis img:new", ["updating", end])
    assert result.returncode == 1
    assert f"update of partscat_redis failed ({end}): swarm says {end}" in result.stderr
    assert "task-1 img:new Failed" in result.stderr  # the tasks, for the operator


def test_update_sh_fails_after_its_timeout(tmp_path: Path) -> None:
    result = run(tmp_path, "bash scripts/update.sh redis img:new", ["updating"], timeout=0)
    assert result.returncode == 1
    assert "update of partscat_redis not finished after 0s (state: updating)" in result.stderr


def test_rollback_sh_succeeds_when_the_rollback_completes(tmp_path: Path) -> None:
    result = run(tmp_path, "bash scripts/rollback.sh redis", ["completed", "rollback_started", "rollback_completed"])
    assert result.returncode == 0, result.stderr
    assert "rolled back partscat_redis to img:current" in result.stderr
    assert "service rollback" in (tmp_path / "calls").read_text()


def test_rollback_sh_fails_when_the_rollback_pauses_or_times_out(tmp_path: Path) -> None:
    paused = run(tmp_path, "bash scripts/rollback.sh redis", ["completed", "rollback_paused"])
    assert paused.returncode == 1
    assert "rollback of partscat_redis paused: swarm says rollback_paused" in paused.stderr
    late = run(tmp_path, "bash scripts/rollback.sh redis", ["completed", "rollback_started"], timeout=0)
    assert late.returncode == 1
    assert "not finished after 0s (state: rollback_started)" in late.stderr


def test_rollback_sh_does_not_undo_a_rollback_unless_forced(tmp_path: Path) -> None:
    result = run(tmp_path, "bash scripts/rollback.sh redis", ["rollback_completed"])
    assert result.returncode == 0
    assert "already rolled back" in result.stderr
    assert not (tmp_path / "calls").exists()
