"""The edge's Lua specs (tests/nginx/lua/test_*.lua), each run with luajit: the decisions of nginx/lua/ that need
no Nginx (lua/edge_decisions.lua, lua/edge_json.lua), tested on their own. A spec exits non-zero when one of its
tests failed; its output says which."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPECS_DIR = Path(__file__).resolve().parent / "lua"
# The edge's modules, then the specs' harness (spec.lua); ";;" keeps luajit's own paths (cjson).
LUA_PATH = f"{ROOT / 'nginx' / 'lua'}/?.lua;{SPECS_DIR}/?.lua;;"
SPECS = sorted(SPECS_DIR.glob("test_*.lua"))


def test_the_specs_are_found() -> None:
    assert {"test_edge_decisions.lua", "test_edge_json.lua"} <= {spec.name for spec in SPECS}


@pytest.mark.parametrize("spec", SPECS, ids=[spec.stem for spec in SPECS])
def test_lua_spec(spec: Path) -> None:
    if shutil.which("luajit") is None:
        pytest.fail("luajit is not installed: scripts/system-packages.sh installs it", pytrace=False)
    result = subprocess.run(
        ["luajit", str(spec)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LUA_PATH": LUA_PATH},
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{spec.name} exited {result.returncode}:\n{output}"
    assert " passed, 0 failed" in result.stdout, output
