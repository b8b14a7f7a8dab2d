"""decisions/cluster.py: the lab cluster's shape and cluster.sh's choices, as plain functions."""

from __future__ import annotations

import subprocess

import pytest

from scripts.control_plane.decisions.cluster import (
    CertificateFacts,
    ContainerAction,
    EdgeError,
    ManagerAction,
    RemoveStale,
    SetActive,
    SwarmRefusal,
    WorkerAction,
    certificate_extensions,
    certificate_problem,
    container_action,
    edge_addresses,
    elapsed_text,
    env_lines,
    fingerprint,
    hosts_block,
    hosts_block_current,
    hosts_has_block,
    hosts_replaced,
    is_cluster_socket,
    label_missing,
    manager_action,
    network_problem,
    node_cleanup,
    node_run_args,
    registry_run_args,
    spec_hash,
    wanted_labels,
    worker_action,
    worker_waits,
)
from scripts.control_plane.records import Node


def test_env_prints_what_the_cluster_suite_and_an_operator_evaluate() -> None:
    assert env_lines() == [
        "export DOCKER_HOST=unix:///run/partscat-cluster/node-1/docker.sock",
        "export REGISTRY=registry.partscat.test:5443",
        "export PARTSCAT_NODE_HOSTS=partscat-node-1=unix:///run/partscat-cluster/node-1/docker.sock,"
        "partscat-node-2=unix:///run/partscat-cluster/node-2/docker.sock,"
        "partscat-node-3=unix:///run/partscat-cluster/node-3/docker.sock",
        "export EDGE_ADDRESSES=127.0.0.1:18081,127.0.0.1:18082",
    ]


def test_a_docker_host_naming_a_node_is_recognised() -> None:
    assert is_cluster_socket("unix:///run/partscat-cluster/node-1/docker.sock")
    assert not is_cluster_socket("unix:///var/run/docker.sock")
    assert not is_cluster_socket("")


def test_the_spec_hash_is_the_bash_ones() -> None:
    """The same arguments give the label the bash gave them: a cluster made by cluster.sh's bash is kept."""
    args = node_run_args(2, tls_dir="/repo/.cache/cluster/tls", ca_fingerprint="a5c4702eed06", image="partscat/node:1")
    bash = subprocess.run(
        ["bash", "-c", 'printf "%s\\0" "$@" | sha256sum | cut -c1-16', "-", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    assert spec_hash(args) == bash.stdout.strip()
    assert spec_hash([*args[:-1], "partscat/node:2"]) != spec_hash(args)


def test_a_fingerprint_is_twelve_hex_digits_of_sha256() -> None:
    assert fingerprint(b"") == "e3b0c44298fc"


def test_the_run_arguments_keep_the_bash_order() -> None:
    args = registry_run_args(tls_dir="/t", certificate_fingerprint="ff", image="partscat/registry:1")
    assert args[:6] == ["--hostname", "registry.partscat.test", "--network", "partscat-cluster", "--ip", "10.231.0.2"]
    assert "type=bind,source=/t/registry.key,target=/etc/docker/registry/tls/server.key,readonly" in args
    assert args[-1] == "partscat/registry:1"
    node = node_run_args(3, tls_dir="/t", ca_fingerprint="ab", image="partscat/node:1", socket_root="/s")
    assert node[node.index("--ip") + 1] == "10.231.0.13"
    assert node[node.index("--publish") + 1] == "127.0.0.1:18083:8080"
    assert "/s/node-3:/run/partscat-node" in node
    assert "partscat-node-3-docker:/var/lib/docker" in node
    assert "type=bind,source=/t/ca.crt,target=/etc/docker/certs.d/registry.partscat.test:5443/ca.crt,readonly" in node


@pytest.mark.parametrize(
    ("spec", "state", "action"),
    [
        (None, "", ContainerAction.RUN),
        ("abc", "running", ContainerAction.KEEP),
        ("abc", "paused", ContainerAction.UNPAUSE),
        ("abc", "exited", ContainerAction.START),
        ("abc", "created", ContainerAction.START),
        ("old", "running", ContainerAction.RECREATE),
        ("", "exited", ContainerAction.RECREATE),  # made by hand, without the label
    ],
)
def test_what_to_do_with_a_container_of_that_name(spec: str | None, state: str, action: ContainerAction) -> None:
    assert container_action(spec, state, "abc") is action


def test_an_existing_network_must_have_the_clusters_subnet() -> None:
    assert network_problem(None) is None
    assert network_problem(["10.231.0.0/24"]) is None
    problem = network_problem(["172.30.0.0/16"])
    assert problem == (
        "network partscat-cluster exists with subnet 172.30.0.0/16, not 10.231.0.0/24; "
        "run scripts/cluster.sh down first"
    )


def test_the_manager_inits_keeps_or_refuses() -> None:
    assert manager_action("inactive", control_available=False) is ManagerAction.INIT
    assert manager_action("active", control_available=True) is ManagerAction.KEEP
    with pytest.raises(SwarmRefusal, match=r"in a swarm but not its manager; scripts/cluster\.sh down --volumes"):
        manager_action("active", control_available=False)
    with pytest.raises(SwarmRefusal, match="partscat-node-1's swarm state is error"):
        manager_action("error", control_available=False)


def test_a_worker_is_kept_joined_or_made_to_leave_first() -> None:
    assert worker_action("active", known_to_manager=True) is WorkerAction.KEEP
    assert worker_action("inactive", known_to_manager=False) is WorkerAction.JOIN
    # Left over from another swarm (its manager's volume deleted), or still pending after the wait.
    assert worker_action("active", known_to_manager=False) is WorkerAction.LEAVE_AND_JOIN
    assert worker_action("pending", known_to_manager=False) is WorkerAction.LEAVE_AND_JOIN
    assert worker_waits("pending") and not worker_waits("active")


def node(node_id: str, hostname: str, availability: str = "active", **labels: str) -> Node:
    return Node(node_id, hostname, "ready", availability, labels={k.replace("_", "."): v for k, v in labels.items()})


def test_stale_entries_are_removed_and_drained_nodes_made_active() -> None:
    nodes = [
        node("n1", "partscat-node-1"),
        node("n2", "partscat-node-2", "drain"),
        node("old3", "partscat-node-3"),
        node("n3", "partscat-node-3", "pause"),
        node("x", "somebody-else", "drain"),
    ]
    assert node_cleanup(["n1", "n2", "n3"], nodes) == [
        SetActive("n2"),
        RemoveStale("old3", "partscat-node-3"),
        SetActive("n3"),
    ]
    assert node_cleanup(["n1"], [node("n1", "partscat-node-1")]) == []


def test_the_labels_wanted_and_whether_one_is_missing() -> None:
    assert wanted_labels() == [(1, "partscat.postgres"), (1, "partscat.edge"), (2, "partscat.edge")]
    assert label_missing({}, "partscat.edge")
    assert label_missing({"partscat.edge": "false"}, "partscat.edge")
    assert not label_missing({"partscat.edge": "true", "other": "x"}, "partscat.edge")


def test_the_edges_are_the_labelled_nodes_loopback_ports() -> None:
    nodes = [
        node("a", "partscat-node-2", partscat_edge="true"),
        node("b", "partscat-node-1", partscat_edge="true", partscat_postgres="true"),
        node("c", "partscat-node-3"),
    ]
    assert edge_addresses(nodes) == ["127.0.0.1:18081", "127.0.0.1:18082"]
    # A label the control plane moved to node 3 is followed: the manager's view, not the fixed list.
    assert edge_addresses([node("c", "partscat-node-3", partscat_edge="true")]) == ["127.0.0.1:18083"]
    with pytest.raises(EdgeError, match="edge node db-host is not one of this cluster's nodes"):
        edge_addresses([node("d", "db-host", partscat_edge="true")])


GOOD = CertificateFacts(
    present=True,
    signed_by_ca=True,
    valid_long_enough=True,
    matches_key=True,
    names="X509v3 Subject Alternative Name: \n    DNS:registry.partscat.test, IP Address:127.0.0.1\n",
)


def test_a_good_certificate_is_kept() -> None:
    assert certificate_problem(GOOD) is None


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        (CertificateFacts(present=False, ca_new=True), "the CA is new"),
        (CertificateFacts(present=False), "there is none"),
        (CertificateFacts(**{**GOOD.__dict__, "signed_by_ca": False}), "the CA did not sign it"),
        (CertificateFacts(**{**GOOD.__dict__, "valid_long_enough": False}), "it expires within 30 days"),
        (CertificateFacts(**{**GOOD.__dict__, "matches_key": False}), "it is not registry.key's"),
        (CertificateFacts(**{**GOOD.__dict__, "names": "DNS:registry.partscat.test"}), "it lacks IP Address:127.0.0.1"),
    ],
)
def test_a_certificate_is_issued_again_for_one_reason(facts: CertificateFacts, reason: str) -> None:
    assert certificate_problem(facts) == reason


def test_the_certificate_is_a_server_certificate_for_both_names() -> None:
    extensions = certificate_extensions()
    assert "subjectAltName=DNS:registry.partscat.test,IP:127.0.0.1\n" in extensions
    assert "basicConstraints=critical,CA:FALSE\n" in extensions
    assert extensions.endswith("extendedKeyUsage=serverAuth\n")


HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n"


def test_the_hosts_block_is_added_once_and_removed_whole() -> None:
    added = hosts_replaced(HOSTS, hosts_block())
    assert added == HOSTS + "# partscat-cluster begin\n127.0.0.1 registry.partscat.test\n# partscat-cluster end\n"
    assert hosts_block_current(added) and hosts_has_block(added)
    assert not hosts_block_current(HOSTS) and not hosts_has_block(HOSTS)
    # Added again: replaced, not doubled.
    assert hosts_replaced(added, hosts_block()) == added
    assert hosts_replaced(added, "") == HOSTS


def test_a_changed_or_unterminated_block_is_replaced_as_sed_would() -> None:
    changed = HOSTS + "# partscat-cluster begin\n10.0.0.9 registry.partscat.test\n# partscat-cluster end\n10.1.1.1 x\n"
    assert not hosts_block_current(changed)
    assert hosts_replaced(changed, "") == HOSTS + "10.1.1.1 x\n"
    # No end line: sed's range runs to the end of the file.
    assert hosts_replaced(HOSTS + "# partscat-cluster begin\n1.2.3.4 y\n", "") == HOSTS
    # $(sed ...) dropped the trailing blank lines; printf adds one newline.
    assert hosts_replaced("a\n\n\n", "") == "a\n"


def test_step_times_are_tenths_truncated() -> None:
    assert elapsed_text(1.27) == "1.2s"
    assert elapsed_text(0.04) == "0.0s"
    assert elapsed_text(31.0) == "31.0s"
