"""commands/bench_target.py: the services `make bench` measures, the apps at their live colour, and a host
name Django accepts; no stack is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

from tests.scripts.control_plane.fake_swarm import FakeSwarm, checkout, run_cli, stack_swarm


def test_names_the_live_colour_and_a_host_django_accepts(tmp_path: Path) -> None:
    swarm = stack_swarm(live="green", env=("DJANGO_ALLOWED_HOSTS=.parts.example.com,127.0.0.1",))
    run = run_cli(swarm, checkout(tmp_path), "bench-target")
    assert run.exit_code == 0, run.stderr
    target = json.loads(run.stdout)
    assert target == {
        "django_service": "partscat_django-green",
        "fastapi_service": "partscat_fastapi-green",
        "nginx_service": "partscat_nginx",
        "postgres_service": "partscat_postgres",
        "host": "parts.example.com",
    }
    assert swarm.changes == []


def test_no_stack_is_a_clear_error(tmp_path: Path) -> None:
    run = run_cli(FakeSwarm(), checkout(tmp_path), "bench-target")
    assert run.exit_code == 1
    assert "no stack partscat running; make up first" in run.stderr
