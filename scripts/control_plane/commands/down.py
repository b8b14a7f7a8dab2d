"""down [--volumes] (scripts/down.sh, `make down`): remove the stack and wait until its containers and networks
are gone; --volumes also removes its volumes (the socket holder's too) and its secrets (decisions/secrets.py:
the stack's list, the two names used before the role split, and the TLS copies deploy made)."""

from __future__ import annotations

from collections.abc import Sequence

from scripts.control_plane.context import Context
from scripts.control_plane.decisions import secrets as stack_secrets
from scripts.control_plane.decisions import teardown
from scripts.control_plane.runbook import Failure
from scripts.control_plane.settings import seconds_text


def wait_stack_gone(ctx: Context, *, timeout: float = teardown.GONE_TIMEOUT_SECONDS) -> None:
    """Until no container of the stack is left on this engine and its networks are gone."""
    deadline = ctx.clock.monotonic() + timeout
    while True:
        left = teardown.stack_leftovers(ctx.docker.stack_containers(ctx.stack), ctx.docker.stack_networks(ctx.stack))
        if left is None:
            return
        if ctx.clock.monotonic() >= deadline:
            raise Failure(
                f"stack {ctx.stack} still has containers or its networks after {seconds_text(timeout)}s ({left})"
            )
        ctx.clock.sleep(teardown.GONE_POLL_SECONDS)


def run(ctx: Context, args: Sequence[str]) -> None:
    try:
        remove_data = teardown.down_arguments_parse(args)
    except teardown.DownArgumentsError as error:
        raise Failure(str(error)) from error
    ctx.require_docker()
    stack = ctx.stack
    if stack in ctx.docker.stack_names():
        with ctx.timer.phase("stack_rm"):
            ctx.docker.stack_remove(stack)
    else:
        ctx.log(f"stack {stack} is not deployed")
    if ctx.dry_run:
        ctx.log(f"dry run: not waiting for stack {stack} to go")
    else:
        with ctx.timer.phase("wait_gone"):
            wait_stack_gone(ctx)
        ctx.log(f"stack {stack} removed")
    if not remove_data:
        ctx.log("volumes and secrets kept (use --volumes to delete them)")
        return
    existing_volumes = {
        f"{stack}_{name}" for name in teardown.STACK_VOLUMES if ctx.docker.volume(f"{stack}_{name}") is not None
    }
    for volume in teardown.volumes_to_remove(stack, existing_volumes):
        ctx.docker.volume_remove(volume)
    # With the data gone, the next deploy starts from scratch with new secrets.
    for secret in stack_secrets.secrets_to_remove(stack, ctx.docker.secret_names()):
        ctx.docker.secret_remove(secret)
