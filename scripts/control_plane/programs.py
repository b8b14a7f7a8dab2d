"""This machine's programs other than docker (openssl, curl, install, rm), run through the context's other runner
and printed the way docker.py prints docker's: a read the first time it runs (a polling loop repeats it
silently), a change every time; in a dry run a change is printed with `# dry run: not run` and not run. Every
change is kept, with docker's, for the verdict."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from scripts.control_plane.docker import Change, Completed, Runner
from scripts.control_plane.runbook import Failure, Runbook, command_line


class Programs:
    def __init__(
        self,
        runner: Runner,
        runbook: Runbook,
        *,
        changes: list[Change],
        clock: Callable[[], float],
        dry_run: bool = False,
        verbose: bool = False,
    ) -> None:
        self.runner = runner
        self.runbook = runbook
        self.changes = changes
        self.clock = clock
        self.dry_run = dry_run
        self.verbose = verbose
        self._printed: set[tuple[str, ...]] = set()

    def read(self, argv: Sequence[str], *, timeout: float | None = None) -> Completed:
        """A command that changes nothing (openssl's look at a certificate, curl's at the registry); its exit code
        is the caller's to judge."""
        key = tuple(argv)
        if self.verbose or key not in self._printed:
            self._printed.add(key)
            self.runbook.command(argv)
        return self.runner(argv, timeout=timeout)

    def change(self, argv: Sequence[str], *, stdin_text: str | None = None, note: str = "") -> Completed:
        """A command that changes something; a failure stops the command with its exit code (as `set -e` did)."""
        self.runbook.command(argv, dry_run=self.dry_run, note=note)
        if self.dry_run:
            self.changes.append(Change(command_line(argv), ran=False, returncode=None, at=self.clock()))
            return Completed(0)
        result = self.runner(argv, stdin_text=stdin_text)
        self.changes.append(Change(command_line(argv), ran=True, returncode=result.returncode, at=self.clock()))
        if result.returncode != 0:
            self.runbook.relay(result.stderr)
            raise Failure(f"{command_line(argv)} failed (exit {result.returncode})", exit_code=result.returncode)
        return result

    def write_text(self, path: Path, text: str, message: str) -> None:
        """Write a file in place (not renamed over: /etc/hosts is often a bind mount, which a rename would break),
        after saying so."""
        self.runbook.log(f"{message}  # dry run: not written" if self.dry_run else message)
        if self.dry_run:
            self.changes.append(Change(f"write {path}", ran=False, returncode=None, at=self.clock()))
            return
        with path.open("w", encoding="utf-8") as file:
            file.write(text)
        self.changes.append(Change(f"write {path}", ran=True, returncode=0, at=self.clock()))
