"""The lab cluster (`cluster` command, scripts/cluster.sh): three Docker-in-Docker nodes in one swarm beside an
HTTPS registry, on one bridge network of this machine. Its fixed shape, and what to do given what is there.

Managers: one, partscat-node-1. Raft needs a majority of the managers, so three survive the loss of one, and a
real cluster runs three (or five) on separate machines. Here the "nodes" are containers on one machine: they fail
together, so three managers buy no tolerance and cost raft traffic on every change. Labels: partscat-node-1
partscat.postgres=true and partscat.edge=true; partscat-node-2 partscat.edge=true; partscat-node-3 none, a pure
app worker (the one the cluster suite drains and kills). Node N publishes its edge port 8080 on this machine's
loopback as 127.0.0.1:1808N. The registry is registry.partscat.test:5443 everywhere.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from scripts.control_plane.records import Node

NODES = (1, 2, 3)
MANAGER = 1
# The nodes labelled partscat.edge=true, and the one that also holds the data (partscat.postgres=true).
EDGE_NODES = (1, 2)
DATA_NODE = 1
EDGE_LABEL = "partscat.edge"
DATA_LABEL = "partscat.postgres"
NETWORK = "partscat-cluster"
NETWORK_LABEL = "partscat.cluster=network"
# Fixed addresses: a node's swarm state (on its volume) names the manager's address, so it must survive a
# re-created container. Far from what Docker picks by itself: bridges from 172.17.0.0/16 up, and the swarm's
# overlay networks (inside the nodes) from 10.0.0.0/24 up.
SUBNET = "10.231.0.0/24"
GATEWAY = "10.231.0.1"
REGISTRY_IP = "10.231.0.2"
REGISTRY_HOST = "registry.partscat.test"
REGISTRY_PORT = 5443
REGISTRY_ADDRESS = f"{REGISTRY_HOST}:{REGISTRY_PORT}"
REGISTRY_CONTAINER = "partscat-registry"
REGISTRY_VOLUME = "partscat-registry-data"
# registry.Dockerfile's USER: the registry's key is given to it, mode 0600.
REGISTRY_UID = 5443
# The stack's edge port inside each node, and the loopback port it is published on (node N: base + N).
NODE_EDGE_PORT = 8080
EDGE_PORT_BASE = 18080
# A directory per node, bind-mounted at /run/partscat-node: its dockerd listens there too, so this machine drives
# each node with DOCKER_HOST=unix://<root>/node-N/docker.sock.
SOCKET_ROOT = "/run/partscat-cluster"
# Where every engine (this machine's, and each node's inside it) trusts the cluster's CA for the registry.
CERTS_D = f"/etc/docker/certs.d/{REGISTRY_ADDRESS}"
HOSTS_BEGIN = "# partscat-cluster begin"
HOSTS_END = "# partscat-cluster end"
# The label holding a container's argument hash, and the ones naming the certificate files it mounts.
SPEC_LABEL = "partscat.cluster.spec"
# A node's dockerd answers in 1-3 s; much more means it is stuck (its log says why).
DOCKERD_WAIT_SECONDS = 90.0
REGISTRY_WAIT_SECONDS = 30.0
# A restarted worker says "pending" while it reconnects; every node Ready within this.
PENDING_WAIT_SECONDS = 30.0
READY_WAIT_SECONDS = 60.0
# The registry's certificate is issued again when it expires within this.
CERT_MIN_VALID_SECONDS = 30 * 24 * 3600
CERT_NAMES = (f"DNS:{REGISTRY_HOST}", "IP Address:127.0.0.1")

USAGE = """\
cluster.sh up                build the node and registry images, make the TLS files, start the registry and
                             the nodes, join them into one swarm and label them; a second run changes nothing
cluster.sh down [--volumes]  remove the nodes, the registry, the network, the /etc/hosts block and the CA in
                             /etc/docker/certs.d; --volumes also deletes their volumes and the TLS files
cluster.sh status            the containers, the swarm's nodes and the registry's answer; non-zero if one is off
cluster.sh env               shell lines that point docker and the control plane at the cluster:
                             eval "$(scripts/cluster.sh env)"
cluster.sh edges             one 127.0.0.1:PORT per edge node: the addresses clients use"""
USAGE_LINE = "up | down [--volumes] | status | env | edges"
# The bash printed its usage and exited 64 (EX_USAGE) on an unknown subcommand.
USAGE_EXIT = 64


# --- Names and addresses ---


def node_name(n: int) -> str:
    return f"partscat-node-{n}"


def node_ip(n: int) -> str:
    return f"10.231.0.{10 + n}"


def node_volume(n: int) -> str:
    return f"{node_name(n)}-docker"


def node_socket(n: int, root: str = SOCKET_ROOT) -> str:
    return f"unix://{root}/node-{n}/docker.sock"


def edge_address(n: int) -> str:
    return f"127.0.0.1:{EDGE_PORT_BASE + n}"


def is_cluster_socket(docker_host: str, root: str = SOCKET_ROOT) -> bool:
    """`eval "$(cluster.sh env)"` points DOCKER_HOST at the manager; the cluster itself lives on this engine."""
    return docker_host.startswith(f"unix://{root}/")


def env_lines(root: str = SOCKET_ROOT) -> list[str]:
    """What `cluster.sh env` prints: the lines an operator's shell evaluates (and the cluster suite parses)."""
    hosts = ",".join(f"{node_name(n)}={node_socket(n, root)}" for n in NODES)
    edges = ",".join(edge_address(n) for n in EDGE_NODES)
    return [
        f"export DOCKER_HOST={node_socket(MANAGER, root)}",
        f"export REGISTRY={REGISTRY_ADDRESS}",
        f"export PARTSCAT_NODE_HOSTS={hosts}",
        f"export EDGE_ADDRESSES={edges}",
    ]


# --- The containers: run, keep, start, unpause or re-create ---


def spec_hash(args: Sequence[str]) -> str:
    """The hash of a container's `docker run` arguments, as the bash took it (`printf '%s\\0' "$@" | sha256sum`,
    16 hex digits): the same arguments give the same label, so a cluster made by the bash is kept as it is."""
    return hashlib.sha256(b"".join(arg.encode() + b"\0" for arg in args)).hexdigest()[:16]


def fingerprint(content: bytes) -> str:
    """A short fingerprint of a file (`sha256sum | cut -c1-12`), put in a container's labels: a new certificate
    re-creates the containers using it."""
    return hashlib.sha256(content).hexdigest()[:12]


class ContainerAction(StrEnum):
    RUN = "run"
    KEEP = "keep"
    START = "start"
    UNPAUSE = "unpause"
    # Made from other arguments (a new image, certificate or mount): stop, remove, run; its named volume kept.
    RECREATE = "recreate"


def container_action(existing_spec: str | None, existing_state: str, wanted_spec: str) -> ContainerAction:
    """existing_spec: the container's spec label, None when there is no container of that name; existing_state:
    docker's State.Status (running, paused, exited, created...)."""
    if existing_spec is None:
        return ContainerAction.RUN
    if existing_spec != wanted_spec:
        return ContainerAction.RECREATE
    if existing_state == "running":
        return ContainerAction.KEEP
    if existing_state == "paused":
        return ContainerAction.UNPAUSE
    # Stopped (after a reboot, or killed by a test): started again as it was.
    return ContainerAction.START


def registry_run_args(*, tls_dir: str, certificate_fingerprint: str, image: str) -> list[str]:
    """The registry's `docker run` arguments after --detach --name --label spec (hashed: keep the order)."""
    return [
        "--hostname", REGISTRY_HOST, "--network", NETWORK, "--ip", REGISTRY_IP,
        "--publish", f"127.0.0.1:{REGISTRY_PORT}:{REGISTRY_PORT}",
        "--volume", f"{REGISTRY_VOLUME}:/var/lib/docker-registry",
        "--mount", f"type=bind,source={tls_dir}/registry.crt,target=/etc/docker/registry/tls/server.crt,readonly",
        "--mount", f"type=bind,source={tls_dir}/registry.key,target=/etc/docker/registry/tls/server.key,readonly",
        "--label", f"partscat.cluster.certificate={certificate_fingerprint}",
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--restart", "no",
        image,
    ]  # fmt: skip


def node_run_args(
    n: int, *, tls_dir: str, ca_fingerprint: str, image: str, socket_root: str = SOCKET_ROOT
) -> list[str]:
    """Node N's `docker run` arguments. The capabilities and options that work here (--privileged does not:
    ../shared/PLATFORM.md, "Docker-in-Docker nodes"); a private cgroup namespace, so the entrypoint's cgroup
    mounts are the node's. No restart policy (nor on the registry): a node the tests kill stays lost until they,
    or `up`, bring it back."""
    return [
        "--hostname", node_name(n), "--network", NETWORK, "--ip", node_ip(n),
        "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
        "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
        "--security-opt", "systempaths=unconfined", "--cgroupns", "private",
        "--add-host", f"{REGISTRY_HOST}:{REGISTRY_IP}",
        "--mount", f"type=bind,source={tls_dir}/ca.crt,target={CERTS_D}/ca.crt,readonly",
        "--label", f"partscat.cluster.ca={ca_fingerprint}",
        "--volume", f"{node_volume(n)}:/var/lib/docker",
        "--volume", f"{socket_root}/node-{n}:/run/partscat-node",
        "--publish", f"{edge_address(n)}:{NODE_EDGE_PORT}",
        "--restart", "no",
        image,
    ]  # fmt: skip


def network_problem(subnets: Sequence[str] | None) -> str | None:
    """Why the existing network cannot serve (None: it does, or there is none and it is created)."""
    if subnets is None or list(subnets) == [SUBNET]:
        return None
    return (
        f"network {NETWORK} exists with subnet {','.join(subnets) or 'none'}, not {SUBNET}; "
        "run scripts/cluster.sh down first"
    )


# --- The swarm ---


class ManagerAction(StrEnum):
    INIT = "init"
    KEEP = "keep"


class SwarmRefusal(ValueError):
    """The swarm on the nodes' volumes is not one this command can take over."""


def manager_action(local_node_state: str, control_available: bool) -> ManagerAction:
    """Node 1 starts the swarm, or already manages it; anything else is refused (SwarmRefusal)."""
    name = node_name(MANAGER)
    if local_node_state == "inactive":
        return ManagerAction.INIT
    if local_node_state == "active":
        if not control_available:
            raise SwarmRefusal(
                f"{name} is in a swarm but not its manager; scripts/cluster.sh down --volumes starts afresh"
            )
        return ManagerAction.KEEP
    raise SwarmRefusal(f"{name}'s swarm state is {local_node_state}; scripts/cluster.sh down --volumes starts afresh")


class WorkerAction(StrEnum):
    KEEP = "keep"
    JOIN = "join"
    # Left over from another swarm (its manager's volume deleted): leave it, then join this one.
    LEAVE_AND_JOIN = "leave-and-join"


def worker_waits(local_node_state: str) -> bool:
    """A restarted worker says "pending" while it reconnects: give it time before judging."""
    return local_node_state == "pending"


def worker_action(local_node_state: str, known_to_manager: bool) -> WorkerAction:
    """A worker is joined when it says so and the manager knows its id."""
    if local_node_state == "active" and known_to_manager:
        return WorkerAction.KEEP
    if local_node_state == "inactive":
        return WorkerAction.JOIN
    return WorkerAction.LEAVE_AND_JOIN


@dataclass(frozen=True)
class RemoveStale:
    """An entry a node left behind when it joined again (its volume deleted: a new id under the same hostname)."""

    node_id: str
    hostname: str


@dataclass(frozen=True)
class SetActive:
    """A node a test left drained or paused: undone."""

    node_id: str


def node_cleanup(current_ids: Iterable[str], nodes: Iterable[Node]) -> list[RemoveStale | SetActive]:
    """Each partscat-node-* hostname names one node, and every node is Active. current_ids: each node's id as it
    knows itself; other swarm members (not partscat-node-*) are left alone."""
    current = set(current_ids)
    actions: list[RemoveStale | SetActive] = []
    for node in nodes:
        if not node.hostname.startswith("partscat-node-"):
            continue
        if node.id not in current:
            actions.append(RemoveStale(node.id, node.hostname))
        elif node.availability.lower() != "active":
            actions.append(SetActive(node.id))
    return actions


def wanted_labels() -> list[tuple[int, str]]:
    """(node, label key) pairs, each to be "true": the data node's, then the edges'."""
    return [(DATA_NODE, DATA_LABEL), *((n, EDGE_LABEL) for n in EDGE_NODES)]


def label_missing(labels: Mapping[str, str], key: str) -> bool:
    """Labels are only added, and only when not there already (an update would bump the node's version); the
    control plane may set others."""
    return labels.get(key) != "true"


class EdgeError(ValueError):
    pass


EDGE_HOSTNAME = re.compile(r"^partscat-node-([0-9]+)$")


def edge_addresses(nodes: Iterable[Node]) -> list[str]:
    """The edge nodes as the manager knows them now (partscat.edge=true), each as the loopback address its node
    publishes, sorted and unique (`sort -u`)."""
    addresses = set()
    for node in nodes:
        if node.labels.get(EDGE_LABEL) != "true":
            continue
        match = EDGE_HOSTNAME.match(node.hostname)
        if match is None:
            raise EdgeError(f"edge node {node.hostname} is not one of this cluster's nodes")
        addresses.add(edge_address(int(match.group(1))))
    return sorted(addresses)


# --- The registry's certificate ---


@dataclass(frozen=True)
class CertificateFacts:
    """What openssl says of the registry's certificate (registry.crt, registry.key) beside the CA."""

    # Both files there and not empty.
    present: bool
    # The CA was made in this run: whatever certificate is there, it is not the new CA's.
    ca_new: bool = False
    # `openssl verify -CAfile ca.crt registry.crt`.
    signed_by_ca: bool = False
    # `openssl x509 -checkend` 30 days.
    valid_long_enough: bool = False
    # The certificate's public key is the key's.
    matches_key: bool = False
    # `openssl x509 -ext subjectAltName`'s text.
    names: str = ""


def certificate_problem(facts: CertificateFacts) -> str | None:
    """Why the registry's certificate must be issued again (the first reason found), or None to keep it."""
    missing = [name for name in CERT_NAMES if name not in facts.names]
    checks = (
        (facts.ca_new, "the CA is new"),
        (not facts.present, "there is none"),
        (not facts.signed_by_ca, "the CA did not sign it"),
        (not facts.valid_long_enough, "it expires within 30 days"),
        (not facts.matches_key, "it is not registry.key's"),
        (bool(missing), f"it lacks {', '.join(missing)}"),
    )
    return next((reason for failed, reason in checks if failed), None)


def certificate_extensions() -> str:
    """The registry certificate's extensions (openssl x509 -extfile)."""
    return (
        "\n".join(
            (
                f"subjectAltName=DNS:{REGISTRY_HOST},IP:127.0.0.1",
                "basicConstraints=critical,CA:FALSE",
                "keyUsage=critical,digitalSignature,keyEncipherment",
                "extendedKeyUsage=serverAuth",
            )
        )
        + "\n"
    )


# --- /etc/hosts ---


def hosts_block() -> str:
    """This machine resolves the registry's name to its loopback port."""
    return f"{HOSTS_BEGIN}\n127.0.0.1 {REGISTRY_HOST}\n{HOSTS_END}"


def _block_span(lines: Sequence[str]) -> tuple[int, int] | None:
    """sed's /^BEGIN$/,/^END$/ range: from the first BEGIN line to the next END line, or to the end."""
    for start, line in enumerate(lines):
        if line == HOSTS_BEGIN:
            for end in range(start + 1, len(lines)):
                if lines[end] == HOSTS_END:
                    return start, end + 1
            return start, len(lines)
    return None


def hosts_has_block(text: str) -> bool:
    """`grep -qx BEGIN`: what down looks for."""
    return HOSTS_BEGIN in text.splitlines()


def hosts_block_current(text: str) -> bool:
    """The file holds the block exactly as it should be."""
    lines = text.splitlines()
    span = _block_span(lines)
    return span is not None and "\n".join(lines[span[0] : span[1]]) == hosts_block()


def hosts_replaced(text: str, block: str) -> str:
    """The file without the cluster's block (every range of it, as sed deletes), then `block` when not empty.
    As the bash wrote it: `$(sed ...)` drops the trailing newlines, printf adds one."""
    lines = text.splitlines()
    kept: list[str] = []
    while (span := _block_span(lines)) is not None:
        kept += lines[: span[0]]
        lines = lines[span[1] :]
    content = "\n".join([*kept, *lines]).rstrip("\n")
    if block:
        content += "\n" + block
    return content + "\n"


# --- status ---


def elapsed_text(seconds: float) -> str:
    """A step's time as the bash printed it: tenths, truncated (1.27 s -> 1.2s)."""
    tenths = max(0, int(seconds * 10))
    return f"{tenths // 10}.{tenths % 10}s"
