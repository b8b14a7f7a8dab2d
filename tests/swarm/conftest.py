"""The Swarm suite's one fixture: the real stack, brought up by scripts/up.sh (from zero if need be).

Without a working Docker the fixture fails, so every test of the suite fails: it never skips.
"""

from __future__ import annotations

import pytest

from tests.swarm.harness import BASE_URL, script

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
