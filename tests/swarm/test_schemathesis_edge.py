"""Schemathesis with every check against the FastAPI service as clients reach it: through the stack's Nginx.

Through the edge, the answers Nginx gives itself are checked against the document too: a method the
document does not list for a path (TRACE, say) must still be a JSON 405 with an Allow header, and the edge's
body limit must answer the contract's 400, not an HTML page.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.schemathesis_run import schemathesis_failures

pytestmark = pytest.mark.swarm


# The health probes are in the document (Swarm and the watcher ask each task for them) but the edge does not
# serve them to the public (nginx/lua/edge_operator.lua; tests/swarm/test_routes.py checks its 404). The fast
# suite's direct run checks them against the document.
PROBES = r"^/(healthz|livez)$"


def test_schemathesis_through_nginx_finds_no_failure(swarm_stack: str, tmp_path: Path) -> None:
    failures = schemathesis_failures(
        f"{swarm_stack}/fastapi/openapi.json", tmp_path, base_url=f"{swarm_stack}/fastapi", exclude_path_regex=PROBES
    )
    assert failures == ""
