"""What the operator reads: log lines on stderr in lib.sh's shape (``[deploy.sh] message``), every docker
command as ``+ docker ...`` before it runs, and the one error type a command raises to stop (lib.sh's die)."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from typing import TextIO


class Failure(Exception):
    """The command did not get where it was asked to go: its reason, and the exit code (lib.sh's die: 1).

    ``logged`` means the reason was already told in the command's own words (no ``ERROR:`` line again)."""

    def __init__(self, reason: str, *, exit_code: int = 1, logged: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exit_code = exit_code
        self.logged = logged


def command_line(argv: Sequence[str]) -> str:
    """A command as an operator would type it (quoted where the shell needs it)."""
    return shlex.join(argv)


class Runbook:
    """Log lines prefixed with the script's name, as lib.sh's log() writes them, and the commands run."""

    def __init__(self, name: str, *, err: TextIO | None = None, out: TextIO | None = None) -> None:
        self.name = name
        self._err = err
        self._out = out

    @property
    def err(self) -> TextIO:
        return self._err or sys.stderr

    @property
    def out(self) -> TextIO:
        return self._out or sys.stdout

    def log(self, message: str) -> None:
        print(f"[{self.name}] {message}", file=self.err, flush=True)

    def error(self, message: str) -> None:
        self.log(f"ERROR: {message}")

    def command(self, argv: Sequence[str], *, dry_run: bool = False, note: str = "") -> None:
        """``+ docker ...`` before a command runs; in a dry run, the command that would run and does not."""
        suffix = f"  # {note}" if note else ""
        if dry_run:
            suffix += "  # dry run: not run"
        self.log(f"+ {command_line(argv)}{suffix}")

    def print(self, text: str = "") -> None:
        """Output for stdout (status tables, URLs), as the bash scripts printed it."""
        print(text, file=self.out, flush=True)

    def relay(self, text: str) -> None:
        """A command's own output, passed on to stderr unchanged (as `>&2` did)."""
        if text:
            self.err.write(text if text.endswith("\n") else f"{text}\n")
            self.err.flush()
