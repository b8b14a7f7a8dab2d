"""commands/down.py (down.sh, `make down`): remove the stack, wait until it is gone; --volumes removes its
volumes and secrets too."""

from __future__ import annotations

from pathlib import Path

from scripts.control_plane.decisions.secrets import stack_secret_names
from tests.scripts.control_plane.fake_swarm import STACK, FakeClock, FakeSwarm, checkout, run_cli, stack_swarm

NETWORKS = {f"{STACK}_backend", f"{STACK}_redis", f"{STACK}_cache"}


def swarm_with_data() -> FakeSwarm:
    swarm = stack_swarm()
    swarm.networks = set(NETWORKS)
    swarm.volumes = {f"{STACK}_pgdata", f"{STACK}_redisdata", f"{STACK}_edge-socket", "other_pgdata"}
    swarm.secrets |= {f"{STACK}_db_password", f"{STACK}_tls_cert_0123", f"{STACK}_tls_key_0123", "other_tls_x"}
    return swarm


def test_down_removes_the_stack_waits_and_keeps_the_data(tmp_path: Path) -> None:
    swarm = swarm_with_data()
    swarm.lingering_looks = 2
    clock = FakeClock()
    run = run_cli(swarm, checkout(tmp_path), "down", clock=clock)
    assert run.exit_code == 0, run.stderr
    assert swarm.changes == [f"docker stack rm {STACK}"]
    assert swarm.networks == set()
    assert clock.sleeps == [2.0, 2.0]
    assert f"[down.sh] stack {STACK} removed" in run.stderr
    assert "[down.sh] volumes and secrets kept (use --volumes to delete them)" in run.stderr
    assert f"{STACK}_pgdata" in swarm.volumes


def test_down_volumes_removes_the_volumes_and_every_secret_of_the_stack(tmp_path: Path) -> None:
    swarm = swarm_with_data()
    run = run_cli(swarm, checkout(tmp_path), "down", "--volumes")
    assert run.exit_code == 0, run.stderr
    removed_secrets = [
        *stack_secret_names(STACK), f"{STACK}_db_password", f"{STACK}_tls_cert_0123", f"{STACK}_tls_key_0123",
    ]  # fmt: skip
    assert swarm.changes == [
        f"docker stack rm {STACK}",
        f"docker volume rm {STACK}_pgdata",
        f"docker volume rm {STACK}_redisdata",
        f"docker volume rm {STACK}_edge-socket",
        *(f"docker secret rm {name}" for name in removed_secrets),
    ]
    assert swarm.volumes == {"other_pgdata"}
    assert swarm.secrets == {"other_tls_x"}


def test_a_stack_not_deployed_is_said_and_the_rest_still_goes(tmp_path: Path) -> None:
    swarm = swarm_with_data()
    swarm.services.clear()
    run = run_cli(swarm, checkout(tmp_path), "down", "--volumes")
    assert run.exit_code == 0, run.stderr
    assert f"[down.sh] stack {STACK} is not deployed" in run.stderr
    assert "docker stack rm" not in " ".join(swarm.changes)
    assert f"docker volume rm {STACK}_pgdata" in swarm.changes


def test_a_stack_that_does_not_go_fails_after_120_s(tmp_path: Path) -> None:
    swarm = swarm_with_data()
    swarm.lingering_looks = 1000
    clock = FakeClock()
    run = run_cli(swarm, checkout(tmp_path), "down", "--volumes", clock=clock)
    assert run.exit_code == 1
    assert (
        f"ERROR: stack {STACK} still has containers or its networks after 120s "
        f"(1 container and networks {STACK}_backend, {STACK}_cache, {STACK}_redis)"
    ) in run.stderr
    assert clock.elapsed == 120
    assert swarm.changes == [f"docker stack rm {STACK}"]


def test_a_dry_run_removes_nothing_and_does_not_wait(tmp_path: Path) -> None:
    swarm = swarm_with_data()
    clock = FakeClock()
    run = run_cli(swarm, checkout(tmp_path), "down", "--volumes", "--dry-run", clock=clock)
    assert run.exit_code == 0, run.stderr
    assert swarm.changes == []
    assert clock.sleeps == []
    assert f"[down.sh] + docker stack rm {STACK}  # dry run: not run" in run.stderr
    assert f"[down.sh] + docker volume rm {STACK}_pgdata  # dry run: not run" in run.stderr
    assert f"[down.sh] + docker secret rm {STACK}_tls_key_0123  # dry run: not run" in run.stderr


def test_bad_arguments_and_no_daemon(tmp_path: Path) -> None:
    swarm = swarm_with_data()
    run = run_cli(swarm, checkout(tmp_path), "down", "--bogus")
    assert (run.exit_code, swarm.calls) == (1, [])
    assert "[down.sh] ERROR: usage: down.sh [--volumes]" in run.stderr
    swarm.daemon_up = False
    run = run_cli(swarm, checkout(tmp_path), "down")
    assert run.exit_code == 1
    assert "docker daemon not reachable; run scripts/docker-engine.sh" in run.stderr
