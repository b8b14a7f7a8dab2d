"""Schemathesis with every check against the real FastAPI service, from its own /openapi.json.

A few examples per operation keep it in the fast suite (well under a minute). The Swarm suite runs the same
through Nginx (tests/swarm/test_schemathesis_edge.py), where the edge's own answers are checked too.
"""

from __future__ import annotations

from pathlib import Path

from tests.schemathesis_run import schemathesis_failures
from tests.servers import Server


def test_schemathesis_finds_no_failure(fastapi_server: Server, tmp_path: Path) -> None:
    assert schemathesis_failures(f"{fastapi_server.base_url}/openapi.json", tmp_path) == ""
