"""commands/seed.py (seed.sh): seed_parts inside a healthy task of the live django colour, its progress streamed;
--if-empty asks the same task whether any part is visible first."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.control_plane.commands.seed import SeedRequest, seed_request
from scripts.control_plane.docker import Output
from scripts.control_plane.runbook import Failure
from tests.scripts.control_plane.fake_swarm import checkout, container_json, run_cli, stack_swarm

SEED = "docker exec django-green-1 python manage.py seed_parts --clear --profile realistic --parts 1000 --seed 7"


def test_seeds_in_a_healthy_task_of_the_live_colour_with_its_progress_shown(tmp_path: Path) -> None:
    swarm = stack_swarm(live="green")
    run = run_cli(
        swarm, checkout(tmp_path), "seed", "--clear", "--parts", "1000", "--seed", "7", "--profile", "realistic"
    )
    assert run.exit_code == 0, run.stderr
    looked_up = [" ".join(call) for call in swarm.calls if call[1] == "ps"]
    assert "label=com.docker.swarm.service.name=partscat_django-green --filter health=healthy" in looked_up[-1]
    assert swarm.changes == [SEED]
    assert swarm.outputs[swarm.calls.index(tuple(SEED.split()))] is Output.STDERR
    assert "seeded 1000 parts (seed 7, profile realistic) in 0s" in run.stderr


def test_if_empty_seeds_nothing_when_a_part_is_visible(tmp_path: Path) -> None:
    swarm = stack_swarm()
    run = run_cli(swarm, checkout(tmp_path), "seed", "--if-empty")
    assert run.exit_code == 0, run.stderr
    assert "catalog already holds visible parts; not seeding" in run.stderr
    assert swarm.changes == []


def test_if_empty_seeds_an_empty_catalog_with_the_defaults(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.exec_codes["is_visible=True"] = 3
    run = run_cli(swarm, checkout(tmp_path), "seed", "--if-empty")
    assert run.exit_code == 0, run.stderr
    assert swarm.changes == ["docker exec django-blue-1 python manage.py seed_parts --parts 10000 --seed 1"]


def test_a_count_that_fails_is_not_taken_for_an_empty_catalog(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.exec_codes["is_visible=True"] = 1
    run = run_cli(swarm, checkout(tmp_path), "seed", "--if-empty")
    assert run.exit_code == 1
    assert "could not count the catalog's parts in partscat_django-blue (exit 1)" in run.stderr
    assert swarm.changes == []


def test_a_failed_seed_exits_with_its_code(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.exec_codes["seed_parts"] = 2
    run = run_cli(swarm, checkout(tmp_path), "seed")
    assert run.exit_code == 2
    assert "seed_parts failed (exit 2)" in run.stderr


def test_no_healthy_task_is_a_clear_error(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.containers["partscat_django-blue"] = [container_json("c1", "partscat_django-blue", healthy=False)]
    run = run_cli(swarm, checkout(tmp_path), "seed")
    assert run.exit_code == 1
    assert "no healthy partscat_django-blue task on this node" in run.stderr


def test_a_dry_run_seeds_nothing(tmp_path: Path) -> None:
    swarm = stack_swarm()
    run = run_cli(swarm, checkout(tmp_path), "seed", "--clear", "--dry-run")
    assert (run.exit_code, swarm.changes) == (0, [])
    assert "# dry run: not run" in run.stderr


def test_arguments_as_seed_sh_took_them() -> None:
    assert seed_request([]) == SeedRequest()
    assert seed_request(["--if-empty", "--parts", "5", "--seed", "2", "--profile", "task"]) == SeedRequest(
        if_empty=True, parts=5, seed=2, profile="task"
    )
    assert SeedRequest(profile="task").argv()[-6:] == ["--profile", "task", "--parts", "10000", "--seed", "1"]


@pytest.mark.parametrize(
    "args", [["--parts"], ["--parts", "many"], ["--seed", "-1"], ["--profile"], ["--profile", "--clear"], ["--x"]]
)
def test_bad_arguments_get_the_usage(args: list[str]) -> None:
    with pytest.raises(Failure, match=r"usage: seed\.sh"):
        seed_request(args)
