"""The fast suite from a checkout only its owner can read, as a clone under /root is.

The test servers do not all run as the user who runs the tests: as root, PostgreSQL runs as ``postgres`` and
Nginx's workers as ``nobody``. Whatever they read straight from the checkout fails there with "Permission
denied" (the entrypoint did: 436 errors). So the tracked files are copied into a folder of mode 0700, and
tests that start every kind of server (PostgreSQL by its entrypoint, Redis, both apps, Nginx with the Lua
edge, a Celery worker) run from that copy in a pytest of their own. Run as another user, every server
runs as that one user and the test proves only that the copy runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.servers import ROOT

# One test for each kind of server the fast suite starts, each from a different fixture chain.
FROM_EACH_SERVER = (
    "tests/images/test_postgres_entrypoint.py",  # PostgreSQL's entrypoint on an empty and an old volume
    "tests/test_search.py::test_cyrillic_substring_finds_front_bumper",  # both apps on the seeded catalog
    "tests/nginx/test_edge.py::test_requests_alternate_over_the_pushed_peers",  # the real nginx.conf and its Lua
    # Redis and a Celery worker
    "tests/jobs/test_seed_job.py::test_seed_adds_exactly_n_parts_and_records_its_checkpoint",
)


def _copy_tracked(destination: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for path in listed:
        source = ROOT / path
        if source.is_file():
            (destination / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / path)


def test_fast_suite_runs_from_a_folder_only_its_owner_can_read() -> None:
    outer = Path(tempfile.mkdtemp(prefix="partscat-private-"))
    try:
        outer.chmod(0o700)
        checkout = outer / "checkout"
        checkout.mkdir(mode=0o700)
        _copy_tracked(checkout)
        for name in FROM_EACH_SERVER:
            assert (checkout / name.split("::")[0]).is_file(), name
        env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *FROM_EACH_SERVER],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
        # Every test passed: none failed, errored or was skipped.
        summary = result.stdout.splitlines()[-1]
        assert re.fullmatch(r"\d+ passed in [\d.]+s( \(.*\))?", summary), result.stdout[-2000:]
    finally:
        shutil.rmtree(outer, ignore_errors=True)
