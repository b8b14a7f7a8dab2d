"""What `down` (scripts/down.sh) decides: its arguments, whether the stack is gone, and what --volumes removes
besides the secrets (decisions/secrets.py's secrets_to_remove)."""

from __future__ import annotations

from collections.abc import Sequence, Set

from scripts.control_plane.records import Container

USAGE = "usage: down.sh [--volumes]"
# stack.yml's volumes: the data, and the socket holder's Unix socket shared with the Nginx tasks.
STACK_VOLUMES = ("pgdata", "redisdata", "edge-socket")
# How long the stack may take to go, and how often to look.
GONE_TIMEOUT_SECONDS = 120.0
GONE_POLL_SECONDS = 2.0


class DownArgumentsError(ValueError):
    pass


def down_arguments_parse(args: Sequence[str]) -> bool:
    """Whether to remove the data too: no argument, or --volumes."""
    if list(args) == []:
        return False
    if list(args) == ["--volumes"]:
        return True
    raise DownArgumentsError(USAGE)


def stack_leftovers(containers: Sequence[Container], networks: Sequence[str]) -> str | None:
    """What of a removed stack is still here (None: it is gone): its containers, stopped ones too, and its
    networks, which Swarm removes only after the last of them."""
    left = []
    if containers:
        left.append(f"{len(containers)} container{'s' if len(containers) != 1 else ''}")
    if networks:
        left.append(f"networks {', '.join(sorted(networks))}")
    return " and ".join(left) or None


def volumes_to_remove(stack: str, existing: Set[str]) -> list[str]:
    """The stack's volumes that exist, in stack.yml's order."""
    return [f"{stack}_{name}" for name in STACK_VOLUMES if f"{stack}_{name}" in existing]
