"""scripts/explain_plans.py on the fast suite's catalog: it captures plans only on a server that plans as the
benchmarked stack does, and says in its output which settings the plans ran with."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.servers import ROOT, service_env


def _explain(database_url: str, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **service_env(database_url), **extra_env}
    command = [sys.executable, "-m", "scripts.explain_plans", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_plans_record_the_settings_they_ran_with(database_url: str) -> None:
    done = _explain(database_url)
    assert done.returncode == 0, done.stderr
    # The fast suite's PostgreSQL runs the stack's own entrypoint: no parallel workers, no JIT, as benchmarked.
    assert "| max_parallel_workers_per_gather | 0 |" in done.stdout
    assert "| jit | off |" in done.stdout
    assert "the stack's PostgreSQL starts with max_parallel_workers_per_gather=0, jit=off" in done.stdout
    assert "Not as benchmarked" not in done.stdout
    # The stack's 1 GB of shared_buffers (stack.yml) against PostgreSQL's default here: the same plans, noted.
    assert "Cached unlike the stack" in done.stdout and "shared_buffers" in done.stdout
    assert "### Django, shape 1: part name + mark + colour, groups" in done.stdout
    assert "Workers Planned" not in done.stdout


def test_each_service_shows_the_statements_it_runs_named_by_step(database_url: str) -> None:
    # Price bands from any count, so this small catalog's price shapes take the path they take at 1M parts.
    done = _explain(database_url, SEARCH_PRICE_BANDS_FROM="0")
    assert done.returncode == 0, done.stderr
    shape = "colour + price range"
    headings = [
        line
        for line in done.stdout.splitlines()
        if line.startswith("### ")
        and line.endswith(
            tuple(
                f"{shape}, {step}" for step in ("groups", "price bands", "price edge", "price totals", "totals", "page")
            )
        )
    ]
    # Django reads the bands and each non-empty edge apart; FastAPI in one statement; neither sums the rows.
    assert f"### Django, {shape}, price bands" in headings and f"### FastAPI, {shape}, price totals" in headings
    assert f"### FastAPI, {shape}, totals" not in headings and f"### Django, {shape}, totals" not in headings
    assert headings[0] == f"### Django, {shape}, groups" and f"### FastAPI, {shape}, groups" in headings


def test_a_server_that_plans_unlike_the_stack_is_refused_or_marked(database_url: str, tmp_path: Path) -> None:
    # A stack whose PostgreSQL would run parallel plans: this server (none) no longer plans as it does.
    entrypoint = tmp_path / "postgres-entrypoint.sh"
    entrypoint.write_text(
        "exec postgres -D \"${PGDATA}\" -c listen_addresses='*' \\\n"
        "    -c max_parallel_workers_per_gather=2 -c jit=off\n"
    )
    done = _explain(database_url, "--entrypoint", str(entrypoint))
    assert done.returncode == 1 and done.stdout == ""
    assert "max_parallel_workers_per_gather: the stack runs '2', this server '0'" in done.stderr
    done = _explain(database_url, "--entrypoint", str(entrypoint), "--any-settings")
    assert done.returncode == 0, done.stderr
    assert "**Not as benchmarked**" in done.stdout and "| max_parallel_workers_per_gather | 0 |" in done.stdout


def test_bodies_given_are_explained_instead_of_the_built_in_cases(database_url: str) -> None:
    body = '{"mark_name": "Honda", "params": {"count": 3}}'
    done = _explain(database_url, "--body", body)
    assert done.returncode == 0, done.stderr
    assert f"### Django, {body}, groups" in done.stdout and f"### FastAPI, {body}, totals" in done.stdout
    assert f"### Django, {body}, totals" in done.stdout and "(actual time=" in done.stdout
    assert "shape 1: part name + mark + colour" not in done.stdout
