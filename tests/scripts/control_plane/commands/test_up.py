"""commands/up.py (up.sh, `make up`): the engine, the images, the deploy, the seed, the URLs."""

from __future__ import annotations

from pathlib import Path

from tests.scripts.control_plane.fake_swarm import Programs, checkout, run_cli, stack_swarm


def test_up_runs_each_step_then_prints_the_urls(tmp_path: Path) -> None:
    programs = Programs()
    root = checkout(tmp_path)
    run = run_cli(stack_swarm(), root, "up", environ={"SEED_PARTS": "500", "HTTP_PORT": "8090"}, programs=programs)
    assert run.exit_code == 0, run.stderr
    assert programs.calls == [
        ("bash", f"{root}/scripts/docker-engine.sh"),
        ("bash", f"{root}/scripts/build-images.sh"),
        ("bash", f"{root}/scripts/seed.sh", "--if-empty", "--parts", "500", "--seed", "1"),
    ]
    assert "all services of partscat converged and healthy" in run.stderr
    assert "[up.sh] stack partscat is up in" in run.stderr
    assert (
        run.stdout.splitlines()[0] == "Index    http://127.0.0.1:8090/            (JSON: every route below, with links)"
    )
    assert """-d '{"part_name": "бамп", "page": 1}'""" in run.stdout


def test_a_failed_step_stops_up_with_its_exit_code(tmp_path: Path) -> None:
    programs = Programs(codes={"build-images.sh": 3})
    run = run_cli(stack_swarm(), checkout(tmp_path), "up", programs=programs)
    assert run.exit_code == 3
    assert "scripts/build-images.sh failed (exit 3)" in run.stderr
    assert len(programs.calls) == 2


def test_arguments_are_checked_before_anything_is_built(tmp_path: Path) -> None:
    programs = Programs()
    run = run_cli(stack_swarm(), checkout(tmp_path), "up", "--bogus", programs=programs)
    assert run.exit_code == 1
    assert "usage: deploy.sh [--new-database]" in run.stderr
    assert programs.calls == []


def test_a_dry_run_runs_no_step(tmp_path: Path) -> None:
    programs = Programs()
    swarm = stack_swarm()
    run = run_cli(swarm, checkout(tmp_path), "up", "--dry-run", programs=programs)
    assert run.exit_code == 0, run.stderr
    assert (programs.calls, swarm.changes) == ([], [])
    assert run.stderr.count("# dry run: not run") == 4  # engine, images, stack deploy, seed
