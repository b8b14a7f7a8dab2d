"""status (scripts/status.sh): the stack's services and replicas, update states, the tasks meant to run,
and which tasks Nginx routes to (the Lua balancer's state and the watcher's probes). Changes nothing."""

from __future__ import annotations

from collections.abc import Sequence

from scripts.control_plane.context import Context
from scripts.control_plane.docker import WATCHER_STATE
from scripts.control_plane.runbook import Failure


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns as the docker CLI's `table` format aligns them (Go's tabwriter: cells padded by 3, at least
    10 wide; the last column as it is)."""
    lines = [list(header), *(list(row) for row in rows)]
    widths = [max(max(len(line[column]) for line in lines) + 3, 10) for column in range(len(header) - 1)]
    return "\n".join(
        ("".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)) + line[-1]).rstrip()
        for line in lines
    )


def update_state_line(name: str, state: str, message: str) -> str:
    return f"{name:<28} {f'{state} {message}' if state else '-'}"


def run(ctx: Context, _args: Sequence[str]) -> None:
    ctx.require_docker()
    if ctx.stack not in ctx.docker.stack_names():
        raise Failure(f"stack {ctx.stack} is not deployed")
    out = ctx.runbook.print
    rows = ctx.docker.stack_services(ctx.stack)
    out("== services")
    out(table(["NAME", "REPLICAS", "IMAGE", "PORTS"], [[row.name, row.replicas, row.image, row.ports] for row in rows]))
    out()
    out("== update state")
    services = ctx.docker.services(row.name for row in rows)
    for row in rows:
        status = services[row.name].update_status if row.name in services else None
        out(update_state_line(row.name, status.state if status else "", status.message if status else ""))
    out()
    out("== tasks meant to run")
    tasks = ctx.docker.stack_tasks(ctx.stack, desired_running=True)
    out(table(["NAME", "CURRENT STATE", "NODE", "ERROR"], [[t.name, t.state_text, t.node, t.error] for t in tasks]))
    out()
    out("== nginx peers (what the Lua balancer routes to, and the watcher's probes)")
    containers = ctx.docker.containers(ctx.settings.nginx_service)
    if containers:
        container = containers[0]
        for result in (ctx.docker.edge_state(container), ctx.docker.exec_read(container, ["cat", WATCHER_STATE])):
            if result.returncode != 0:
                ctx.runbook.relay(result.stderr)
                raise Failure(f"nginx task {container.id} did not answer", exit_code=result.returncode)
            out(result.stdout.rstrip("\n"))
        out()
    else:
        out("no nginx task on this node")
    out(f"== entry: http://127.0.0.1:{ctx.settings.http_port}/")
