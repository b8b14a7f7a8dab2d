"""cluster up | down [--volumes] | status | env | edges (scripts/cluster.sh, `make cluster`): three
Docker-in-Docker nodes in one swarm beside an HTTPS registry, on one bridge network of this machine
(decisions/cluster.py holds its shape and every choice). Every docker command goes through the adapter, to this
machine's engine or with `--host` to a node's own; openssl, curl, install and rm through the context's other
runner (programs.py); all of them printed. `cluster.sh env` prints what points docker and the control plane at it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scripts.control_plane.commands import cluster_tls
from scripts.control_plane.commands.up import script_run
from scripts.control_plane.context import Context
from scripts.control_plane.decisions import cluster
from scripts.control_plane.decisions.cluster import (
    MANAGER,
    NODES,
    REGISTRY_ADDRESS,
    REGISTRY_CONTAINER,
    REGISTRY_HOST,
    ContainerAction,
    ManagerAction,
    RemoveStale,
    SwarmRefusal,
    WorkerAction,
    node_name,
)
from scripts.control_plane.docker import NODE_TIMEOUT, Docker
from scripts.control_plane.programs import Programs
from scripts.control_plane.records import Container
from scripts.control_plane.runbook import Failure
from scripts.control_plane.settings import images_env_parse

# Every command sent to a node's engine: a stuck node must not hang `up` (the bash waited forever), and a loaded
# node (three dockerd pulling on 2 cores) may take many seconds to join or answer.
NODE_COMMAND_TIMEOUT = 60.0
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class ClusterPaths:
    """Where the cluster lives on this machine (tests point these at a temporary directory)."""

    cluster_dir: Path
    hosts_file: Path = Path("/etc/hosts")
    certs_d: Path = Path(cluster.CERTS_D)
    socket_root: Path = Path(cluster.SOCKET_ROOT)

    @property
    def tls(self) -> cluster_tls.TlsFiles:
        return cluster_tls.TlsFiles(self.cluster_dir / "tls")

    @property
    def images_env(self) -> Path:
        """Written by `build-images.sh --cluster`: NODE_IMAGE, REGISTRY_IMAGE."""
        return self.cluster_dir / "images.env"


def table(rows: Sequence[Sequence[str]]) -> str:
    """Columns as docker's own tables print them (tabwriter: at least 10 wide, 3 spaces of padding)."""
    widths = [max(10, *(len(row[column]) + 3 for row in rows)) for column in range(len(rows[0]))]
    lines = ("".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows)
    return "\n".join(line.rstrip() for line in lines)


class Cluster:
    """One run of the command: the engines it talks to, the programs it runs, and what a dry run left undone."""

    def __init__(self, ctx: Context, paths: ClusterPaths) -> None:
        self.ctx = ctx
        self.paths = paths
        self.dry_run = ctx.dry_run
        # `eval "$(cluster.sh env)"` points DOCKER_HOST at the manager; the cluster itself lives on this engine.
        docker_host = ctx.environ.get("DOCKER_HOST", "")
        if cluster.is_cluster_socket(docker_host, str(paths.socket_root)):
            self.local = ctx.docker.on(env={k: v for k, v in ctx.environ.items() if k != "DOCKER_HOST"})
        else:
            self.local = ctx.docker
        self.programs = Programs(
            ctx.programs,
            ctx.runbook,
            changes=ctx.docker.changes,
            clock=ctx.clock.time,
            dry_run=self.dry_run,
            verbose=ctx.docker.verbose,
        )
        # The files a dry run would have written: their fingerprints are not known.
        self.pending: set[Path] = set()
        # In a dry run, what a change not run leaves unknown (a node not started, a swarm not made): not looked at.
        self.swarm_unknown = False
        self.node_image = self.registry_image = ""

    def log(self, message: str) -> None:
        self.ctx.log(message)

    def node(self, n: int, *, timeout: float = NODE_COMMAND_TIMEOUT) -> Docker:
        """docker against node N's own engine."""
        return self.local.on(cluster.node_socket(n, str(self.paths.socket_root)), timeout=timeout)

    @property
    def manager(self) -> Docker:
        return self.node(MANAGER)

    def sleep_until(self, deadline: float) -> bool:
        """Sleep a poll's time; False when the deadline has passed."""
        if self.ctx.clock.monotonic() >= deadline:
            return False
        self.ctx.clock.sleep(POLL_SECONDS)
        return True

    def fingerprint(self, path: Path) -> str:
        if path in self.pending or not path.is_file():
            return "(not made yet)"
        return cluster.fingerprint(path.read_bytes())

    def relay_logs(self, name: str, tail: int) -> None:
        logs = self.local.container_logs(name, tail=tail)
        self.ctx.runbook.relay(logs.stdout)
        self.ctx.runbook.relay(logs.stderr)

    # --- up ---

    def up(self) -> None:
        started = self.ctx.clock.monotonic()
        if self.local.swarm_info() is None:
            raise Failure("docker daemon not reachable; run scripts/docker-engine.sh")
        if not self.dry_run:
            cache = self.ctx.settings.cache_dir
            cache.mkdir(parents=True, exist_ok=True)
            # The cache holds wheels and generated env files; git must never see it.
            if not (cache / ".gitignore").exists():
                (cache / ".gitignore").write_text("*\n")
            self.paths.cluster_dir.mkdir(parents=True, exist_ok=True)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("images", self.build_images),
            ("TLS files", self.make_tls),
            ("network", self.ensure_network),
            ("registry", self.start_registry),
            ("registry name and CA on this machine", self.trust_registry),
            ("node containers", self.start_nodes),
            ("nodes' dockerd", self.wait_for_dockerd),
            ("swarm", self.form_swarm),
            ("labels", self.label_nodes),
        ]
        for name, step in steps:
            step_started = self.ctx.clock.monotonic()
            with self.ctx.timer.phase(name):
                step()
            self.log(f"{name}: done in {cluster.elapsed_text(self.ctx.clock.monotonic() - step_started)}")
        elapsed = cluster.elapsed_text(self.ctx.clock.monotonic() - started)
        self.log(f'cluster up in {elapsed}; eval "$(scripts/cluster.sh env)" to drive it')

    def build_images(self) -> None:
        script_run(self.ctx, "build-images.sh", "--cluster")
        path = self.paths.images_env
        if not path.is_file():
            raise Failure(f"{path} missing; run scripts/build-images.sh --cluster")
        values = images_env_parse(path.read_text(encoding="utf-8"))
        self.node_image, self.registry_image = values.get("NODE_IMAGE", ""), values.get("REGISTRY_IMAGE", "")
        if not (self.node_image and self.registry_image):
            raise Failure(f"{path} names no NODE_IMAGE or REGISTRY_IMAGE; run scripts/build-images.sh --cluster")

    def make_tls(self) -> None:
        self.pending |= cluster_tls.make_tls(self.programs, self.ctx.runbook, self.paths.tls)

    def ensure_network(self) -> None:
        network = self.local.network(cluster.NETWORK)
        problem = cluster.network_problem(network.subnets if network is not None else None)
        if problem is not None:
            raise Failure(problem)
        if network is not None:
            self.log(f"network {cluster.NETWORK} already exists")
            return
        self.local.network_create(
            cluster.NETWORK, subnet=cluster.SUBNET, gateway=cluster.GATEWAY, label=cluster.NETWORK_LABEL
        )

    def ensure_container(self, name: str, args: Sequence[str]) -> None:
        """Run it, or start it when it exists stopped (after a reboot), or unpause it. The arguments' hash is a
        label: a container made from other arguments (a new image, certificate or mount) is re-created, its named
        volume kept."""
        spec = cluster.spec_hash(args)
        existing = self.local.containers_inspect([name]).get(name)
        action = cluster.container_action(
            existing.labels.get(cluster.SPEC_LABEL, "") if existing is not None else None,
            existing.state if existing is not None else "",
            spec,
        )
        if action is ContainerAction.KEEP:
            self.log(f"{name} already running")
        elif action is ContainerAction.UNPAUSE:
            self.local.container_unpause(name)
        elif action is ContainerAction.START:
            self.local.container_start(name)
        else:
            if action is ContainerAction.RECREATE:
                self.log(
                    f"{name} was made from other arguments (image, certificate or mounts changed): "
                    "re-creating it, volume kept"
                )
                # Stopped first, as in `down`: a node's dockerd then stops its containers and leaves its volume clean.
                self.local.containers_stop([name], seconds=30)
                self.local.containers_remove([name])
            self.local.container_run(name, args, labels=[f"{cluster.SPEC_LABEL}={spec}"])

    def start_registry(self) -> None:
        tls = self.paths.tls
        args = cluster.registry_run_args(
            tls_dir=str(tls.directory), certificate_fingerprint=self.fingerprint(tls.crt), image=self.registry_image
        )
        self.ensure_container(REGISTRY_CONTAINER, args)
        url = f"https://{REGISTRY_ADDRESS}/v2/"
        probe = [
            "curl", "-fsS", "-o", "/dev/null", "--max-time", "5", "--cacert", str(tls.ca_crt),
            "--resolve", f"{REGISTRY_ADDRESS}:127.0.0.1", url,
        ]  # fmt: skip
        deadline = self.ctx.clock.monotonic() + cluster.REGISTRY_WAIT_SECONDS
        while self.programs.read(probe).returncode != 0:
            if self.dry_run:
                self.log(f"dry run: the registry does not answer on {url}; a real run waits for it")
                return
            if not self.sleep_until(deadline):
                self.relay_logs(REGISTRY_CONTAINER, 20)
                raise Failure(f"the registry did not answer on {url} within {cluster.REGISTRY_WAIT_SECONDS:g}s")

    def trust_registry(self) -> None:
        """This machine resolves the registry's name to its loopback port and trusts the CA for it. Docker reads
        /etc/docker/certs.d at every pull and push: no daemon restart."""
        hosts = self.paths.hosts_file
        text = hosts.read_text(encoding="utf-8") if hosts.exists() else ""
        if cluster.hosts_block_current(text):
            self.log(f"{hosts} already names {REGISTRY_HOST}")
        else:
            self.programs.write_text(
                hosts,
                cluster.hosts_replaced(text, cluster.hosts_block()),
                f"adding {REGISTRY_HOST} to {hosts} (between '{cluster.HOSTS_BEGIN}' and '{cluster.HOSTS_END}')",
            )
        ca, installed = self.paths.tls.ca_crt, self.paths.certs_d / "ca.crt"
        same = ca.is_file() and installed.is_file() and ca.read_bytes() == installed.read_bytes()
        if ca not in self.pending and same:
            self.log(f"{installed} already in place")
        else:
            self.programs.change(["install", "-D", "-m", "0644", str(ca), str(installed)])

    def start_nodes(self) -> None:
        tls = self.paths.tls
        for n in NODES:
            if not self.dry_run:
                (self.paths.socket_root / f"node-{n}").mkdir(parents=True, exist_ok=True)
            args = cluster.node_run_args(
                n,
                tls_dir=str(tls.directory),
                ca_fingerprint=self.fingerprint(tls.ca_crt),
                image=self.node_image,
                socket_root=str(self.paths.socket_root),
            )
            self.ensure_container(node_name(n), args)

    def wait_for_dockerd(self) -> None:
        for n in NODES:
            name = node_name(n)
            socket = cluster.node_socket(n, str(self.paths.socket_root))
            deadline = self.ctx.clock.monotonic() + cluster.DOCKERD_WAIT_SECONDS
            # A short deadline per look: the socket of a dockerd still starting may accept and not answer.
            while self.node(n, timeout=NODE_TIMEOUT).server_version() is None:
                if self.dry_run:
                    self.log(f"dry run: dockerd in {name} does not answer on {socket}")
                    self.swarm_unknown = True
                    break
                container = self.local.containers_inspect([name]).get(name)
                if not _running(container) or not self.sleep_until(deadline):
                    self.relay_logs(name, 30)
                    raise Failure(f"dockerd in {name} did not answer on {socket} (its log is above)")

    def swarm_info(self, n: int) -> tuple[str, str, bool]:
        """Node N's (LocalNodeState, NodeID, ControlAvailable); its dockerd must answer."""
        info = self.node(n).swarm_info()
        if info is None:
            raise Failure(f"dockerd in {node_name(n)} does not answer")
        return info.local_node_state, info.node_id, info.control_available

    def form_swarm(self) -> None:
        if self.swarm_unknown:
            self.log("dry run: a node's dockerd does not answer; the swarm is not looked at")
            return
        manager = self.manager
        state, _node_id, control = self.swarm_info(MANAGER)
        try:
            action = cluster.manager_action(state, control)
        except SwarmRefusal as refusal:
            raise Failure(str(refusal)) from refusal
        if action is ManagerAction.INIT:
            manager.swarm_init(cluster.node_ip(MANAGER))
            if self.dry_run:
                self.log("dry run: no swarm yet; the workers' join and the labels are looked at after a real run")
                self.swarm_unknown = True
                return
        else:
            self.log(f"{node_name(MANAGER)} already manages the swarm")
        token = manager.swarm_join_token("worker")
        for n in NODES[1:]:
            worker = self.node(n)
            state, node_id = self.worker_state(n)
            known = state == "active" and manager.node(node_id) is not None
            joining = cluster.worker_action(state, known)
            if joining is WorkerAction.KEEP:
                self.log(f"{node_name(n)} already in the swarm")
                continue
            if joining is WorkerAction.LEAVE_AND_JOIN:
                worker.swarm_leave()
            worker.swarm_join(token, advertise_addr=cluster.node_ip(n), manager=f"{cluster.node_ip(MANAGER)}:2377")
            if self.dry_run:
                self.swarm_unknown = True
        if self.swarm_unknown:
            self.log("dry run: a worker is not in the swarm yet; its node entries are looked at after a real run")
            return
        self.wait_for_ready_nodes()

    def worker_state(self, n: int) -> tuple[str, str]:
        """A restarted worker says "pending" while it reconnects: given time."""
        deadline = self.ctx.clock.monotonic() + cluster.PENDING_WAIT_SECONDS
        state, node_id, _control = self.swarm_info(n)
        while cluster.worker_waits(state) and self.ctx.clock.monotonic() < deadline:
            self.ctx.clock.sleep(1)
            state, node_id, _control = self.swarm_info(n)
        return state, node_id

    def node_ids(self) -> list[str]:
        """Each node's swarm id, as it knows itself."""
        return [self.swarm_info(n)[1] for n in NODES]

    def wait_for_ready_nodes(self) -> None:
        """Every node Ready and Active (a drain a test left behind is undone). Entries a node left behind when it
        joined again are removed, so each hostname names one node."""
        manager = self.manager
        ids = self.node_ids()
        deadline = self.ctx.clock.monotonic() + cluster.READY_WAIT_SECONDS
        for n, node_id in zip(NODES, ids, strict=True):
            while (found := manager.node(node_id)) is None or found.state != "ready":
                if self.ctx.clock.monotonic() >= deadline:
                    raise Failure(f"{node_name(n)} is not Ready in the swarm after {cluster.READY_WAIT_SECONDS:g}s")
                self.ctx.clock.sleep(1)
        for action in cluster.node_cleanup(ids, manager.nodes(manager.node_ids())):
            if isinstance(action, RemoveStale):
                entry = f"{action.hostname}'s stale swarm entry {action.node_id}"
                self.log(f"removing {entry} (the node joined again as another)")
                manager.node_remove(action.node_id)
            else:
                manager.node_availability_set(action.node_id, "active")

    def label_nodes(self) -> None:
        """Labels are only added, and only when missing: the control plane may set others."""
        if self.swarm_unknown:
            return
        manager = self.manager
        for n, key in cluster.wanted_labels():
            node = manager.node(self.swarm_info(n)[1])
            if node is None:
                raise Failure(f"{node_name(n)} is not in the swarm")
            if cluster.label_missing(node.labels, key):
                manager.node_label_add(node.id, f"{key}=true")
            else:
                self.log(f"{node_name(n)} already labelled {key}=true")

    # --- down ---

    def down(self, args: Sequence[str]) -> None:
        if list(args) not in ([], ["--volumes"]):
            raise Failure("usage: cluster.sh down [--volumes]")
        volumes = bool(args)
        names = [*(node_name(n) for n in NODES), REGISTRY_CONTAINER]
        found = self.local.containers_inspect(names)
        present = [name for name in names if name in found]
        if present:
            # Stopped first, so each dockerd stops its containers and leaves its volume clean (rm --force then kills
            # what did not stop, a paused node too).
            self.local.containers_stop(present, seconds=30)
            self.local.containers_remove(present)
        if self.local.network(cluster.NETWORK) is not None:
            self.local.network_remove(cluster.NETWORK)
        hosts = self.paths.hosts_file
        text = hosts.read_text(encoding="utf-8") if hosts.exists() else ""
        if cluster.hosts_has_block(text):
            self.programs.write_text(hosts, cluster.hosts_replaced(text, ""), f"removing {REGISTRY_HOST} from {hosts}")
        if self.paths.certs_d.is_dir():
            self.programs.change(["rm", "-rf", str(self.paths.certs_d)])
        if self.paths.socket_root.exists():
            self.programs.change(["rm", "-rf", str(self.paths.socket_root)])
        if not volumes:
            self.log("volumes kept (the nodes' swarm state and images, the registry's images); --volumes deletes them")
            return
        for volume in [*(cluster.node_volume(n) for n in NODES), cluster.REGISTRY_VOLUME]:
            if self.local.volume(volume) is not None:
                self.local.volume_remove(volume)
        self.programs.change(["rm", "-rf", str(self.paths.tls.directory)])

    # --- status, env, edges ---

    def status(self) -> None:
        out = self.ctx.runbook
        failed = False
        out.print("containers:")
        rows = self.local.containers_labelled(cluster.SPEC_LABEL)
        out.print(table([["NAMES", "STATUS", "PORTS"], *([row.name, row.status, row.ports] for row in rows)]))
        found = self.local.containers_inspect([node_name(n) for n in NODES])
        for n in NODES:
            if not _running(found.get(node_name(n))):
                self.log(f"{node_name(n)} is not running")
                failed = True
        out.print(f"swarm nodes (docker node ls on {node_name(MANAGER)}):")
        try:
            nodes = self.manager.node_rows()
        except Failure as failure:
            self.log(f"the manager does not answer: {failure.reason}")
            failed = True
        else:
            header = ["ID", "HOSTNAME", "STATUS", "AVAILABILITY", "MANAGER STATUS", "ENGINE VERSION"]
            out.print(
                table(
                    [
                        header,
                        *(
                            [f"{node.id} *" if node.is_self else node.id, node.hostname, node.status,
                             node.availability, node.manager_status, node.engine_version]
                            for node in nodes
                        ),
                    ]
                )
            )  # fmt: skip
        base = f"https://{REGISTRY_ADDRESS}/"
        curl = ["curl", "-fsS", "--max-time", "5", "--cacert", str(self.paths.tls.ca_crt), f"{base}v2/_catalog"]
        answer = self.programs.read(curl)
        text = (answer.stdout + answer.stderr).strip()
        if answer.returncode == 0:
            out.print(f"registry {base} answers: {text}")
        else:
            self.log(f"registry {base} does not answer: {text}")
            failed = True
        if failed:
            raise Failure("the cluster is not all up", logged=True)

    def env(self) -> None:
        for line in cluster.env_lines(str(self.paths.socket_root)):
            self.ctx.runbook.print(line)

    def edges(self) -> None:
        manager = self.manager
        try:
            ids = [row.id for row in manager.node_rows()]
        except Failure as failure:
            raise Failure("the cluster's manager does not answer (scripts/cluster.sh up)") from failure
        try:
            addresses = cluster.edge_addresses(manager.nodes(ids))
        except cluster.EdgeError as error:
            raise Failure(str(error)) from error
        for address in addresses:
            self.ctx.runbook.print(address)


def _running(container: Container | None) -> bool:
    return container is not None and container.state == "running"


def default_paths(ctx: Context) -> ClusterPaths:
    return ClusterPaths(cluster_dir=ctx.settings.cache_dir / "cluster")


def run(ctx: Context, args: Sequence[str], *, paths: ClusterPaths | None = None) -> None:
    work = Cluster(ctx, paths or default_paths(ctx))
    subcommand, rest = (args[0], list(args[1:])) if args else ("", [])
    if subcommand == "down":
        work.down(rest)
        return
    simple: dict[str, Callable[[], None]] = {
        "up": work.up,
        "status": work.status,
        "env": work.env,
        "edges": work.edges,
    }
    action = simple.get(subcommand)
    if action is None or rest:
        ctx.runbook.relay(cluster.USAGE)
        raise Failure(f"usage: cluster.sh {cluster.USAGE_LINE}", exit_code=cluster.USAGE_EXIT, logged=True)
    action()
