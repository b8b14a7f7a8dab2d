"""The scripts/*.sh names the control plane replaced stay one-line entry points: comments, `set -euo pipefail`
and one `exec python3 "$(dirname "$0")/stackctl.py" COMMAND "$@"`. No logic creeps back into bash."""

from __future__ import annotations

import re

from scripts.control_plane.cli import COMMANDS
from scripts.control_plane.settings import REPO_ROOT

SCRIPTS = REPO_ROOT / "scripts"
EXEC = re.compile(r'^exec python3 "\$\(dirname "\$0"\)/stackctl\.py" (?P<command>[a-z-]+) "\$@"$')
# Commands whose `script` names where their output is used, not a script that is only their entry point.
NOT_ENTRY_POINTS = {"secret-names", "bench-target"}


def _code_lines(name: str) -> list[str]:
    lines = (SCRIPTS / name).read_text().splitlines()
    assert lines[0] == "#!/usr/bin/env bash", name
    return [line for line in lines[1:] if line.strip() and not line.lstrip().startswith("#")]


def test_every_command_script_is_only_its_entry_point() -> None:
    entry_points = {command.script: name for name, command in COMMANDS.items() if name not in NOT_ENTRY_POINTS}
    assert len(entry_points) >= 10, entry_points
    for script, name in entry_points.items():
        code = _code_lines(script)
        assert code[0] == "set -euo pipefail", (script, code)
        match = EXEC.match(code[1]) if len(code) == 2 else None
        assert match is not None, (script, code)
        assert match["command"] == name, script
