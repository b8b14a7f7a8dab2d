"""decisions/postgres_node.py: which node keeps PostgreSQL, with postgres-node.sh's rule and words."""

from __future__ import annotations

import pytest

from scripts.control_plane.decisions.postgres_node import (
    Keep,
    Label,
    Refuse,
    label_message,
    postgres_node_decision,
    refusal_lines,
)


def decide(
    labelled: tuple[str, ...] = (),
    *,
    services: bool = False,
    volume: bool = False,
    secrets: bool = False,
    new_database: bool = False,
) -> Keep | Label | Refuse:
    return postgres_node_decision(
        labelled=labelled,
        stack_has_services=services,
        volume_here=volume,
        database_secrets=secrets,
        new_database=new_database,
    )


def test_a_fresh_machine_is_a_first_deploy() -> None:
    assert decide() == Label("first-deploy")


def test_the_labelled_node_is_kept_wherever_it_is() -> None:
    assert decide(("node-db",), services=True, volume=True, secrets=True) == Keep("node-db")


@pytest.mark.parametrize(
    ("services", "volume", "secrets", "evidence"),
    [
        (True, False, False, "the stack has services"),
        (False, True, False, "a pgdata volume exists on this node"),
        (False, False, True, "its database secrets exist, so a deploy ran before"),
    ],
)
def test_without_the_label_a_later_deploy_is_refused(
    services: bool, volume: bool, secrets: bool, evidence: str
) -> None:
    decision = decide(services=services, volume=volume, secrets=secrets)
    assert decision == Refuse(
        f"no node carries partscat.postgres=true, but this is not a first deploy ({evidence})", no_label=True
    )


def test_all_the_evidence_is_named() -> None:
    decision = decide(services=True, volume=True, secrets=True)
    assert isinstance(decision, Refuse)
    assert decision.reason.endswith(
        "(the stack has services; a pgdata volume exists on this node; "
        "its database secrets exist, so a deploy ran before)"
    )


def test_new_database_labels_this_node_when_told_to() -> None:
    assert decide(services=True, secrets=True, new_database=True) == Label("new-database")


def test_two_labelled_nodes_are_refused_even_with_new_database() -> None:
    decision = decide(("a", "b"), new_database=True)
    assert decision == Refuse(
        "several nodes carry partscat.postgres=true (a b); remove it from all but the one holding the data"
    )


def test_a_refusal_without_a_label_tells_the_operator_the_ways_out() -> None:
    lines, error = refusal_lines(Refuse("no node carries partscat.postgres=true, but ...", no_label=True))
    assert lines[1:] == [
        "If it is back (or its volume moved to another node), label that node and deploy again:",
        "    docker node update --label-add partscat.postgres=true NODE",
    ]
    assert lines[0].endswith(": the node that held the database may be gone.")
    assert "deploy.sh --new-database does exactly that" in error
    assert refusal_lines(Refuse("several nodes ...")) == ([], "several nodes ...")


def test_label_messages() -> None:
    assert "first deploy (no stack, no partscat_pgdata volume" in label_message(
        Label("first-deploy"), stack="partscat", volume_here=False
    )
    assert "EMPTY database" in label_message(Label("new-database"), stack="partscat", volume_here=False)
    assert "uses the partscat_pgdata volume already here" in label_message(
        Label("new-database"), stack="partscat", volume_here=True
    )
