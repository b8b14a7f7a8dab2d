"""The watcher's decisions, no I/O (tests/nginx/test_watcher_decisions.py): which tasks are in rotation and
what the watcher tells Nginx (the peers, the seed, the listen lines), and whether Nginx holds the public sockets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from watcher_settings import TlsSettings

# One health probe's result (watcher_poll.task_health_probe).
HEALTHY, UNHEALTHY, DOWN, TIMEOUT = "healthy", "unhealthy", "down", "timeout"
# The TLS listener's port when Nginx binds it itself (no socket holder).
TLS_PORT = 8443
# Where Nginx listens when no socket holder hands it the public socket.
OWN_HTTP_PORT = 8080


@dataclass
class TaskState:
    in_rotation: bool = False
    timeouts_in_a_row: int = 0
    last_probe: str = "new"


@dataclass
class ServiceState:
    dns_name: str
    port: int
    tasks: dict[str, TaskState] = field(default_factory=dict)

    def peers(self) -> list[str]:
        return sorted(
            (f"{address}:{self.port}" for address, task in self.tasks.items() if task.in_rotation),
            key=lambda peer: tuple(int(octet) for octet in peer.split(":")[0].split(".")),
        )


def rotation_update(
    *, name: str, state: ServiceState, addresses: set[str] | None, probes: Mapping[str, str], timeouts_to_drop: int
) -> list[str]:
    """Apply one poll's DNS answer and probe results to `state`; return what changed, as log lines.

    addresses None means DNS failed: nothing changes. A task missing from DNS is dropped at once.
    """
    if addresses is None:
        return [f"{name}: DNS lookup of {state.dns_name} failed; keeping the current peers"]
    changes = []
    for gone in sorted(set(state.tasks) - addresses):
        if state.tasks.pop(gone).in_rotation:
            changes.append(f"{name}: {gone}:{state.port} left DNS; out of rotation")
    for address in sorted(addresses):
        task = state.tasks.setdefault(address, TaskState())
        result = probes.get(address, DOWN)
        was_in_rotation = task.in_rotation
        if result == HEALTHY:
            task.in_rotation, task.timeouts_in_a_row = True, 0
        elif result == TIMEOUT:
            task.timeouts_in_a_row += 1
            if task.timeouts_in_a_row >= timeouts_to_drop:
                task.in_rotation = False
        else:
            task.in_rotation, task.timeouts_in_a_row = False, 0
        task.last_probe = result
        if task.in_rotation != was_in_rotation:
            verb = "into rotation" if task.in_rotation else "out of rotation"
            changes.append(f"{name}: {address}:{state.port} {verb} (probe: {result})")
    return changes


def peers_body(states: Mapping[str, ServiceState]) -> str:
    """The control server's POST /edge/peers body: one line per service, its peers space-separated."""
    return "".join(f"{name} {' '.join(state.peers())}\n" for name, state in sorted(states.items()))


def tls_listener_conf(tls: TlsSettings, port: int | str = TLS_PORT) -> str:
    """The lines nginx.conf's main server includes for HTTPS: a TLS listener and the user's certificate.
    `port` may be address:port (an inherited socket's address, written exactly)."""
    return (
        "# Written by upstream_watcher.py at start from TLS_CERT_PATH and TLS_KEY_PATH.\n"
        f"listen {port} ssl;\n"
        f"ssl_certificate {tls.cert_path};\n"
        f"ssl_certificate_key {tls.key_path};\n"
    )


@dataclass(frozen=True)
class Listener:
    """A public listening socket the holder handed over: its name (http, https), address and descriptor."""

    name: str
    address: str
    port: int
    fd: int

    @property
    def target(self) -> str:
        return f"{self.address}:{self.port}"


def listeners_check(listeners: list[Listener], tls: TlsSettings | None) -> str | None:
    """Why Nginx cannot start on these inherited listeners, or None. Nginx would silently bind a port of its
    own in its own network namespace, reachable by nobody, for a listen line no inherited socket matches."""
    names = {listener.name for listener in listeners}
    if "http" not in names:
        return f"the socket holder hands over no http listener (it holds: {', '.join(sorted(names)) or 'nothing'})"
    if tls is not None and "https" not in names:
        return "TLS is on but the socket holder holds no https listener (set its EDGE_LISTEN; stack.tls.yml does)"
    return None


def http_listen_conf(listeners: list[Listener]) -> str:
    """The main server's public listen line: the inherited http socket's exact address, or Nginx's own port."""
    http = [listener for listener in listeners if listener.name == "http"]
    target = http[0].target if http else str(OWN_HTTP_PORT)
    origin = "the socket holder's socket (inherited)" if http else "bound by Nginx itself (no socket holder)"
    return f"# Written by upstream_watcher.py at start: {origin}.\nlisten {target} default_server;\n"


def nginx_inherit_variable(listeners: list[Listener]) -> str:
    """NGINX's environment variable for inherited sockets: each descriptor followed by ';' (nginx.c)."""
    return "".join(f"{listener.fd};" for listener in listeners)


def seed_text(live_colour: str, peers: str, canary: str = "0") -> str:
    """What lua/edge_control.lua's seed() loads before Nginx accepts: the live colour, the canary share and allowlist,
    then POST /edge/peers's body."""
    return f"live {live_colour}\ncanary {canary}\n{peers}"


def state_snapshot(states: Mapping[str, ServiceState]) -> dict[str, object]:
    return {
        name: {
            "dns_name": state.dns_name,
            "in_rotation": state.peers(),
            "tasks": {address: task.last_probe for address, task in sorted(state.tasks.items())},
        }
        for name, state in states.items()
    }


def socket_holding_problem(wanted: Mapping[int, object], held: Mapping[int, set[int]]) -> str | None:
    """Why Nginx does not serve the holder's sockets, or None. `wanted`: the holder's socket inodes (to what
    they are), `held`: Nginx's master, then its accepting workers, each to the socket inodes it has open."""
    if len(held) < 2:
        return "nginx has no accepting worker"
    for pid, inodes in held.items():
        missing = [wanted[inode] for inode in wanted if inode not in inodes]
        if missing:
            return f"nginx process {pid} does not hold the holder's socket(s) {missing}"
    return None
