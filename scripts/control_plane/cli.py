"""The command line: `python3 scripts/stackctl.py [OPTIONS] COMMAND [ARGS...]` (or `python3 -m
scripts.control_plane` from the checkout). Options may come anywhere before `--`:

  --dry-run      print the commands that would change something and run none of them (reads still run)
  --json FILE    write the verdict there when the command ends, whatever the end (verdict.py)
  --verbose      print every docker read each time it runs, not only the first time

Exit codes: 0 done; 1 did not get there (lib.sh's die: a refusal, a failed check, an update rolled back,
paused or timed out, a usage error of a command); a failed docker or script step exits with that step's
own code, as `set -e` did; 2 this CLI's own usage (no or unknown command, --json without a file);
3 `bluegreen canary` held (too few requests to judge a step: neither promoted nor rolled back); 130 interrupted.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from scripts.control_plane.commands import (
    admin_user,
    bench_target,
    bluegreen,
    build,
    cluster,
    deploy,
    down,
    edge_config,
    rollback,
    seed,
    status,
    up,
    update,
)
from scripts.control_plane.context import Clock, Context, SystemClock
from scripts.control_plane.decisions import secrets as stack_secrets
from scripts.control_plane.docker import Docker, Runner, subprocess_runner
from scripts.control_plane.event_log import EventLog
from scripts.control_plane.records import EventKind
from scripts.control_plane.runbook import Failure, Runbook
from scripts.control_plane.settings import REPO_ROOT, SettingsError, cache_dir_ensure, settings_load
from scripts.control_plane.verdict import Timer, Verdict, service_summaries, verdict_write

USAGE_EXIT = 2
INTERRUPTED_EXIT = 130


def secret_names(ctx: Context, args: Sequence[str]) -> None:
    """The stack's secret names, one a line (lib.sh stack_secret_names; `down --volumes` removes these)."""
    if args:
        raise Failure("usage: secret-names")
    for name in stack_secrets.stack_secret_names(ctx.stack):
        ctx.runbook.print(name)


@dataclass(frozen=True)
class Command:
    run: Callable[[Context, Sequence[str]], None]
    # The script it replaces: log lines are prefixed with its name, as lib.sh's log() did.
    script: str
    # Whether it changes anything: only those write the event log.
    changes: bool = True
    # Subcommands that only read (bluegreen status): no events either.
    reads: frozenset[str] = frozenset()

    def logs_events(self, args: Sequence[str]) -> bool:
        return self.changes and not (args and args[0] in self.reads)


COMMANDS = {
    "up": Command(up.run, "up.sh"),
    "deploy": Command(deploy.run, "deploy.sh"),
    "update": Command(update.run, "update.sh"),
    "rollback": Command(rollback.run, "rollback.sh"),
    "bluegreen": Command(bluegreen.run, "bluegreen.sh", reads=frozenset({"status"})),
    "edge-config": Command(edge_config.run, "edge-config.sh"),
    "status": Command(status.run, "status.sh", changes=False),
    "admin-user": Command(admin_user.run, "admin-user.sh"),
    "seed": Command(seed.run, "seed.sh"),
    "down": Command(down.run, "down.sh"),
    # Builds images and touches no stack: no stack event.
    "build": Command(build.run, "build-images.sh", changes=False),
    "secret-names": Command(secret_names, "stackctl.py", changes=False),
    "bench-target": Command(bench_target.run, "bench.sh", changes=False),
    "cluster": Command(cluster.run, "cluster.sh", reads=frozenset({"status", "env", "edges"})),
}

USAGE = (
    "usage: stackctl.py [--dry-run] [--json FILE] [--verbose] COMMAND [ARGS...]\n"
    "  up [--new-database] | deploy [--new-database] | update SERVICE IMAGE | rollback SERVICE [--force]\n"
    "  bluegreen deploy [TAG]|switch|rollback|finish|status|canary [OPTIONS]|share PERCENT [--allow VALUE]...\n"
    "  edge-config [NGINX_CONF] | status\n"
    "  admin-user [NAME [EMAIL]] | seed [--if-empty] [--clear] [--parts N] [--seed S] [--profile P]\n"
    "  secret-names | bench-target | down [--volumes] | build [--push REGISTRY [--tag TAG]] [--cluster]\n"
    "  cluster up|down [--volumes]|status|env|edges"
)


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    json_file: Path | None = None
    verbose: bool = False


class UsageError(ValueError):
    pass


def options_split(argv: Sequence[str]) -> tuple[Options, list[str]]:
    """The CLI's own options, wherever they are before `--`, and the rest in order."""
    dry_run = verbose = False
    json_file: Path | None = None
    rest: list[str] = []
    items = iter(argv)
    for arg in items:
        if arg == "--":
            rest += list(items)
            break
        if arg == "--dry-run":
            dry_run = True
        elif arg == "--verbose":
            verbose = True
        elif arg == "--json":
            value = next(items, "")
            if not value:
                raise UsageError("--json needs a FILE")
            json_file = Path(value)
        elif arg.startswith("--json="):
            if not arg.removeprefix("--json="):
                raise UsageError("--json needs a FILE")
            json_file = Path(arg.removeprefix("--json="))
        else:
            rest.append(arg)
    return Options(dry_run=dry_run, json_file=json_file, verbose=verbose), rest


def final_services(ctx: Context) -> None:
    """The verdict's last look at every service of the stack (nothing when docker cannot tell)."""
    try:
        rows = ctx.docker.stack_services(ctx.stack)
        ctx.verdict.services = service_summaries(rows, ctx.docker.services(row.name for row in rows))
    except Failure:
        return


def main(
    argv: Sequence[str],
    *,
    environ: Mapping[str, str] | None = None,
    runner: Runner = subprocess_runner,
    programs: Runner = subprocess_runner,
    clock: Clock | None = None,
    stdin_is_terminal: bool | None = None,
    err: TextIO | None = None,
    out: TextIO | None = None,
    repo_root: Path = REPO_ROOT,
) -> int:
    environ = dict(os.environ if environ is None else environ)
    clock = clock or SystemClock()
    try:
        options, rest = options_split(argv)
    except UsageError as error:
        print(f"{error}\n{USAGE}", file=err or sys.stderr)
        return USAGE_EXIT
    command = COMMANDS.get(rest[0]) if rest else None
    if command is None:
        print(USAGE, file=err or sys.stderr)
        return USAGE_EXIT
    name, args = rest[0], rest[1:]
    runbook = Runbook(command.script, err=err, out=out)
    verdict = Verdict(command=name, args=args, dry_run=options.dry_run, stack="", started_at=clock.time())
    try:
        settings = settings_load(environ, repo_root=repo_root)
    except SettingsError as error:
        runbook.error(str(error))
        verdict.exit_code, verdict.outcome, verdict.reason = 1, "failed", str(error)
        verdict.finished_at = clock.time()
        if options.json_file is not None:
            verdict_write(options.json_file, verdict)
        return 1
    verdict.stack = settings.stack
    log_events = command.logs_events(args) and not options.dry_run
    if log_events:
        if settings.events_file.is_relative_to(settings.cache_dir):
            cache_dir_ensure(settings)
        verdict.events_file = str(settings.events_file)
    events = EventLog(
        settings.events_file if log_events else None,
        stack=settings.stack,
        command=name,
        run=secrets.token_hex(6),
        clock=clock.time,
    )
    docker = Docker(
        runner=runner,
        runbook=runbook,
        dry_run=options.dry_run,
        verbose=options.verbose,
        clock=clock.time,
        node_hosts=settings.node_hosts,
    )
    ctx = Context(
        settings=settings,
        docker=docker,
        runbook=runbook,
        events=events,
        verdict=verdict,
        timer=Timer(verdict, clock.monotonic),
        clock=clock,
        programs=programs,
        environ=environ,
        stdin_is_terminal=sys.stdin.isatty() if stdin_is_terminal is None else stdin_is_terminal,
    )
    return command_run(ctx, command, args, json_file=options.json_file)


def command_run(ctx: Context, command: Command, args: Sequence[str], *, json_file: Path | None) -> int:
    verdict = ctx.verdict
    ctx.events.emit(EventKind.COMMAND_STARTED, args=" ".join(args))
    error = None
    try:
        command.run(ctx, args)
        exit_code = 0
        verdict.outcome = verdict.outcome or "done"
    except Failure as failure:
        error = None if failure.logged else failure.reason
        exit_code = failure.exit_code or 1
        verdict.outcome = verdict.outcome if verdict.outcome not in ("", "done") else "failed"
        verdict.reason = failure.reason
    except KeyboardInterrupt:
        error = "interrupted"
        exit_code, verdict.outcome, verdict.reason = INTERRUPTED_EXIT, "interrupted", "interrupted"
    verdict.exit_code = exit_code
    if json_file is not None:
        final_services(ctx)
    verdict.changes = list(ctx.docker.changes)
    verdict.finished_at = ctx.clock.time()
    # The error is the last thing said (after the verdict's last look at the services).
    if error is not None:
        ctx.runbook.error(error)
    ctx.events.emit(EventKind.COMMAND_FINISHED, exit_code=exit_code, outcome=verdict.outcome, reason=verdict.reason)
    if json_file is not None:
        verdict_write(json_file, verdict)
    return exit_code
