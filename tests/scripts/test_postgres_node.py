"""scripts/postgres-node.sh: which node deploy.sh lets PostgreSQL run on, decided without a swarm.

``ensure_postgres_node_label`` runs for real in bash against a stub ``docker`` on PATH that answers from the
scenario's facts (nodes, labels, stack services, volume, secrets) and records any ``docker node update``.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.servers import ROOT

THIS_NODE = "node-here"

# Answers like the docker CLI's for the commands ensure_postgres_node_label runs.
STUB_DOCKER = r"""#!/usr/bin/env bash
set -eu
has() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }
case "$1 $2" in
    "node ls") printf '%s\n' ${STUB_NODES} ;;
    "node inspect")
        case "$*" in
            *partscat.postgres*) if has "${STUB_LABELLED}" "$3"; then echo true; else echo '<no value>'; fi ;;
            *) echo "host-$3, ready" ;;
        esac ;;
    "node update") echo "$*" >>"${STUB_CALLS}" ;;
    "service ls") [ -z "${STUB_SERVICES}" ] || printf '%s\n' ${STUB_SERVICES} ;;
    "volume inspect") [ "${STUB_VOLUME}" = 1 ] ;;
    "secret inspect") has "${STUB_SECRETS}" "$3" ;;
    "info --format") echo "${STUB_THIS_NODE}" ;;
    *) echo "stub docker: unexpected: $*" >&2; exit 99 ;;
esac
"""


@dataclass
class Swarm:
    nodes: list[str] = field(default_factory=lambda: [THIS_NODE])
    labelled: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    volume_here: bool = False
    secrets: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    returncode: int
    stderr: str
    node_updates: list[str]


def deploy_decides(swarm: Swarm, tmp_path: Path, *, new_database: bool = False) -> Outcome:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(STUB_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    calls = tmp_path / "docker-calls"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "STACK_NAME": "partscat",
        "STUB_NODES": " ".join(swarm.nodes),
        "STUB_LABELLED": " ".join(swarm.labelled),
        "STUB_SERVICES": " ".join(swarm.services),
        "STUB_VOLUME": "1" if swarm.volume_here else "0",
        "STUB_SECRETS": " ".join(f"partscat_{name}" for name in swarm.secrets),
        "STUB_THIS_NODE": THIS_NODE,
        "STUB_CALLS": str(calls),
    }
    script = 'set -euo pipefail; . scripts/lib.sh; . scripts/postgres-node.sh; ensure_postgres_node_label "$1"'
    result = subprocess.run(
        ["bash", "-c", script, "deploy.sh", "1" if new_database else "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    updates = calls.read_text().splitlines() if calls.exists() else []
    return Outcome(result.returncode, result.stderr, updates)


LABEL_THIS_NODE = [f"node update --label-add partscat.postgres=true {THIS_NODE}"]


def test_a_first_deploy_on_a_fresh_machine_labels_this_node_unattended(tmp_path: Path) -> None:
    outcome = deploy_decides(Swarm(), tmp_path)
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.node_updates == LABEL_THIS_NODE
    assert "first deploy" in outcome.stderr


def test_the_labelled_node_is_kept_wherever_it_is(tmp_path: Path) -> None:
    swarm = Swarm(nodes=[THIS_NODE, "node-db"], labelled=["node-db"], services=["s1"], secrets=["db_app_password"])
    outcome = deploy_decides(swarm, tmp_path)
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.node_updates == []
    assert "node node-db holds the partscat.postgres label (host-node-db, ready)" in outcome.stderr


@pytest.mark.parametrize(
    ("swarm", "evidence"),
    [
        (Swarm(services=["s1", "s2"]), "the stack has services"),
        (Swarm(volume_here=True), "a pgdata volume exists on this node"),
        (Swarm(secrets=["db_owner_password", "db_app_password"]), "a deploy ran before"),
        # A swarm whose stack ran before the role split: only the old secret names exist.
        (Swarm(secrets=["db_password"]), "a deploy ran before"),
    ],
    ids=["stack-services", "volume-here", "secrets", "secrets-before-the-role-split"],
)
def test_without_the_label_a_later_deploy_refuses_to_start_an_empty_database(
    tmp_path: Path, swarm: Swarm, evidence: str
) -> None:
    outcome = deploy_decides(swarm, tmp_path)
    assert outcome.returncode == 1
    assert outcome.node_updates == []
    assert "no node carries partscat.postgres=true" in outcome.stderr
    assert evidence in outcome.stderr
    assert "--new-database" in outcome.stderr
    assert "docker node update --label-add partscat.postgres=true NODE" in outcome.stderr


def test_new_database_labels_this_node_when_told_to(tmp_path: Path) -> None:
    swarm = Swarm(nodes=[THIS_NODE, "node-other"], services=["s1"], secrets=["db_app_password"])
    outcome = deploy_decides(swarm, tmp_path, new_database=True)
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.node_updates == LABEL_THIS_NODE
    assert "EMPTY database" in outcome.stderr


def test_new_database_says_an_existing_volume_here_is_used_as_it_is(tmp_path: Path) -> None:
    outcome = deploy_decides(Swarm(volume_here=True), tmp_path, new_database=True)
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.node_updates == LABEL_THIS_NODE
    assert "uses the partscat_pgdata volume already here" in outcome.stderr


def test_two_labelled_nodes_are_refused_even_with_new_database(tmp_path: Path) -> None:
    swarm = Swarm(nodes=[THIS_NODE, "node-a"], labelled=[THIS_NODE, "node-a"])
    outcome = deploy_decides(swarm, tmp_path, new_database=True)
    assert outcome.returncode == 1
    assert outcome.node_updates == []
    assert "several nodes carry partscat.postgres=true" in outcome.stderr
