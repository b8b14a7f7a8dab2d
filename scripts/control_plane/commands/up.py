"""up [--new-database] (scripts/up.sh, `make up`): Docker and Swarm, images, then deploy, wait until healthy,
seed an empty catalog, print the URLs. The engine, image and seed steps are scripts of their own
(docker-engine.sh, build-images.sh: the build command's entry point, seed.sh); this runs them, printed like
any command."""

from __future__ import annotations

from collections.abc import Sequence

from scripts.control_plane.commands import deploy
from scripts.control_plane.context import Context
from scripts.control_plane.docker import Change, Output
from scripts.control_plane.runbook import Failure, command_line


def urls(http_port: int) -> str:
    base = f"http://127.0.0.1:{http_port}"
    sample = """'{"part_name": "бамп", "page": 1}'"""
    return f"""Index    {base}/            (JSON: every route below, with links)
Django   {base}/search/part/ (POST; lists: {base}/mark/, {base}/model/)
Admin    {base}/admin/      (first account: scripts/admin-user.sh)
FastAPI  {base}/fastapi/    (search: POST {base}/fastapi/search/part/, docs: {base}/fastapi/docs)
Jobs     {base}/api/jobs/   (docs: {base}/api/docs/; a token: README, "Background jobs")
Try:     curl -s -X POST {base}/fastapi/search/part/ -H 'Content-Type: application/json' -d {sample}
Status:  scripts/status.sh        Stop: scripts/down.sh [--volumes]"""


def script_run(ctx: Context, name: str, *args: str) -> None:
    """Run scripts/NAME with its output on the terminal; its failure is ours, with its exit code."""
    argv = ["bash", str(ctx.settings.repo_root / "scripts" / name), *args]
    ctx.runbook.command(argv, dry_run=ctx.dry_run)
    if ctx.dry_run:
        ctx.docker.changes.append(Change(command_line(argv), ran=False, returncode=None, at=ctx.clock.time()))
        return
    with ctx.timer.phase(name):
        result = ctx.programs(argv, output=Output.TERMINAL, cwd=ctx.settings.repo_root)
    ctx.docker.changes.append(Change(command_line(argv), ran=True, returncode=result.returncode, at=ctx.clock.time()))
    if result.returncode != 0:
        raise Failure(f"scripts/{name} failed (exit {result.returncode})", exit_code=result.returncode)


def run(ctx: Context, args: Sequence[str]) -> None:
    # Arguments go to deploy (--new-database); checked before anything is built.
    new_database = deploy.arguments_parse(args)
    started = ctx.clock.monotonic()
    script_run(ctx, "docker-engine.sh")
    script_run(ctx, "build-images.sh")
    deploy.deploy(ctx, new_database=new_database)
    settings = ctx.settings
    script_run(ctx, "seed.sh", "--if-empty", "--parts", str(settings.seed_parts), "--seed", str(settings.seed_number))
    ctx.log(f"stack {ctx.stack} is up in {int(ctx.clock.monotonic() - started)}s")
    ctx.runbook.print(urls(settings.http_port))
