"""The Swarm suite's fixtures: the real stack, brought up by scripts/up.sh (from zero if need be), and the
zero-downtime report every scenario adds to.

Without a working Docker the stack fixture fails, so every test of the suite fails: it never skips.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.swarm.harness import BASE_URL, REPO_ROOT, script
from tests.swarm.report import Scenario, report_markdown, timelines_write

# Cold: debootstrap, wheelhouse, every image, deploy and seed; about 4 minutes on 2 cores, so 30 is generous.
UP_TIMEOUT_SECONDS = 1800


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="session")
def swarm_stack() -> str:
    """Base URL of Nginx once the whole stack is up, healthy and seeded."""
    result = script("up.sh", timeout=UP_TIMEOUT_SECONDS)
    if result.returncode != 0:
        pytest.fail(
            f"scripts/up.sh exited {result.returncode}; the Swarm suite needs a working Docker Engine and Swarm.\n"
            f"--- stderr (tail) ---\n{_tail(result.stderr)}\n--- stdout (tail) ---\n{_tail(result.stdout)}",
            pytrace=False,
        )
    return BASE_URL


@pytest.fixture(scope="session")
def zero_downtime_report() -> Iterator[list[Scenario]]:
    """Scenarios append themselves here; ZERO_DOWNTIME_REPORT names the file the table is written to, and the
    scenarios' timelines go into the folder beside it."""
    scenarios: list[Scenario] = []
    yield scenarios
    path = os.environ.get("ZERO_DOWNTIME_REPORT")
    if path and scenarios:
        timelines = timelines_write(scenarios, Path(path), prefix="swarm", repo_root=REPO_ROOT)
        Path(path).write_text(report_markdown(scenarios, REPO_ROOT, timelines=timelines), encoding="utf-8")
