"""Which node PostgreSQL (and Redis) run on: the partscat.postgres node label (scripts/postgres-node.sh).

Data lives in a node-local volume, so without the label PostgreSQL must never start on another node
silently: it would start empty there. Only an unmistakable first deploy (no stack, no volume here, no
database secrets anywhere in the swarm) or an explicit --new-database labels this node.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

POSTGRES_NODE_LABEL = "partscat.postgres"


@dataclass(frozen=True)
class Keep:
    """A node carries the label: PostgreSQL stays there, wherever it is."""

    node: str


@dataclass(frozen=True)
class Label:
    """Label this node: on a first deploy, or because the operator said --new-database."""

    reason: Literal["first-deploy", "new-database"]


@dataclass(frozen=True)
class Refuse:
    """Stop the deploy. `no_label`: nobody carries the label although a deploy ran before (the node that
    held the data may be gone), which gets the operator's way out spelled out."""

    reason: str
    no_label: bool = False


def postgres_node_decision(
    *, labelled: Sequence[str], stack_has_services: bool, volume_here: bool, database_secrets: bool, new_database: bool
) -> Keep | Label | Refuse:
    """labelled: ids of the nodes carrying the label; the three facts are the evidence of an earlier deploy
    (database_secrets: secrets.database_secrets_exist)."""
    if len(labelled) > 1:
        return Refuse(
            f"several nodes carry {POSTGRES_NODE_LABEL}=true ({' '.join(labelled)}); "
            "remove it from all but the one holding the data"
        )
    if len(labelled) == 1:
        return Keep(labelled[0])
    if new_database:
        return Label("new-database")
    evidence = []
    if stack_has_services:
        evidence.append("the stack has services")
    if volume_here:
        evidence.append("a pgdata volume exists on this node")
    if database_secrets:
        evidence.append("its database secrets exist, so a deploy ran before")
    if not evidence:
        return Label("first-deploy")
    return Refuse(
        f"no node carries {POSTGRES_NODE_LABEL}=true, but this is not a first deploy ({'; '.join(evidence)})",
        no_label=True,
    )


def refusal_lines(refusal: Refuse) -> tuple[list[str], str]:
    """What deploy says when it refuses: log lines, then the error it dies with (postgres-node.sh's words)."""
    if not refusal.no_label:
        return [], refusal.reason
    return (
        [
            f"{refusal.reason}: the node that held the database may be gone.",
            "If it is back (or its volume moved to another node), label that node and deploy again:",
            f"    docker node update --label-add {POSTGRES_NODE_LABEL}=true NODE",
        ],
        "refusing to start PostgreSQL on this node with an empty database; deploy.sh --new-database does exactly that",
    )


def label_message(decision: Label, *, stack: str, volume_here: bool) -> str:
    """What deploy says before it labels this node."""
    if decision.reason == "first-deploy":
        return f"first deploy (no stack, no {stack}_pgdata volume, no database secrets): PostgreSQL goes to this node"
    if volume_here:
        return f"--new-database: PostgreSQL goes to this node and uses the {stack}_pgdata volume already here"
    return "--new-database: PostgreSQL goes to this node and starts with an EMPTY database"
