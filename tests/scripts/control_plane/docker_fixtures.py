"""The docker CLI's answers recorded as small fixtures (tests/scripts/fixtures/docker/): `--format '{{json .}}'`
lines (*.jsonl) and `inspect` arrays (*.json), written from the documented shapes and checked against what a
Docker 28 client (Engine 20.10) printed for this stack, trimmed to the fields that matter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "docker"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_text(name))
