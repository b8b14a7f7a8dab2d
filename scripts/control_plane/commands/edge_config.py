"""edge-config [NGINX_CONF] (scripts/edge-config.sh): apply a changed nginx.conf to every running Nginx task
on this node in place. Each task's watcher tests the file (`nginx -t`), has the running workers close every
client connection after its next response for DRAIN_SECONDS, then reloads; a file that fails `nginx -t`
changes nothing and exits non-zero. No task is replaced. A task started later starts from its image's
nginx.conf: commit the change and ship it in the next Nginx image. On several edge nodes, run this on
each (DOCKER_HOST=ssh://node), one node at a time."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from scripts.control_plane.context import Context
from scripts.control_plane.docker import WATCHER
from scripts.control_plane.records import EventKind
from scripts.control_plane.runbook import Failure


def run(ctx: Context, args: Sequence[str]) -> None:
    conf = Path(args[0]) if args else ctx.settings.repo_root / "nginx" / "nginx.conf"
    if not conf.is_file():
        raise Failure(f"no such file: {conf}")
    ctx.require_docker()
    nginx = ctx.settings.nginx_service
    containers = ctx.docker.containers(nginx)
    if not containers:
        raise Failure(f"no running {nginx} task on this node")
    ctx.verdict.details["nginx_conf"] = str(conf)
    for container in containers:
        ctx.log(f"applying {conf} to nginx task {container.id}")
        with ctx.timer.phase(f"apply {container.id}"):
            result = ctx.docker.exec_change(
                container, ["python3", WATCHER, "apply-config"], stdin_path=conf, interactive=True
            )
        if result.returncode != 0:
            raise Failure(f"nginx task {container.id} refused {conf}; it still runs its previous configuration")
        ctx.events.emit(EventKind.EDGE_CONFIG, container=container.id, nginx_conf=str(conf))
    if ctx.dry_run:
        ctx.log(f"dry run: applied to no nginx task ({len(containers)} would be)")
        ctx.verdict.outcome = "dry_run"
        return
    ctx.log(f"applied to {len(containers)} nginx task(s)")
    ctx.verdict.outcome = "applied"
