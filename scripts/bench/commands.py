"""How `make bench` runs a command and says what it is doing: exit status and output, paths and durations as
its log and env.md show them."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def shown(path: Path) -> str:
    """A path as commands and logs show it: relative to the repository when it is inside."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def duration_text(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{seconds:02d}s"
    return f"{seconds}s"


def run_command(
    command: Sequence[str],
    *,
    stdin: Path | None = None,
    timeout: float = 600,
    env: dict[str, str] | None = None,
) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of a command (``stdin`` fed from a file; ``env`` added to the environment)."""
    environ = {**os.environ, **env} if env else None
    with stdin.open("rb") if stdin else open(os.devnull, "rb") as handle:
        done = subprocess.run(command, stdin=handle, capture_output=True, timeout=timeout, check=False, env=environ)
    return done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")


def checked(command: Sequence[str], *, timeout: float = 120) -> str:
    code, out, err = run_command(command, timeout=timeout)
    if code != 0:
        raise RuntimeError(f"{shlex.join(command)} exited {code}: {err.strip() or out.strip()}")
    return out
