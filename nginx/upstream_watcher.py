"""Run Nginx and keep its upstream peers equal to the healthy Swarm tasks behind each app service.

Every POLL_SECONDS the watcher
  1. resolves `tasks.<service>` (Swarm DNS lists one address per task; dnsrr endpoint mode),
  2. probes each address's health URL (a task answers 503 while it drains, see scripts/images/app-entrypoint.sh),
  3. pushes the peers in rotation to Nginx's local control server (POST /edge/peers, lua/edge.lua), which
     swaps them in a shared dictionary: no reload, so no client or upstream keep-alive connection is closed.
The push is also the watcher's heartbeat: /nginx-healthz (the Swarm health check) fails when it stops.

A task enters rotation only after its health URL answered 2xx, so DNS listing a task before it is ready
does no harm; it leaves rotation as soon as DNS drops it, its health URL answers non-2xx, its port refuses,
or (to ride out a busy moment) after TIMEOUTS_TO_DROP health probes in a row time out. A DNS failure
keeps the current peers. A poll that fails for any reason is logged and the next one goes on.

Reloads are for real configuration changes only: `upstream_watcher.py apply-config < nginx.conf` tests the
new file, asks the running workers to close each client connection after its next response (drain), waits
DRAIN_SECONDS, then reloads (scripts/edge-config.sh runs it in every Nginx task). SIGTERM drains the same way
before Nginx's graceful stop.

Blue-green: each app runs as <app>-blue and <app>-green; the watcher keeps the peers of all four and Nginx
sends users to the live colour. At start the watcher tells Nginx the live colour from LIVE_COLOUR (stack.yml
fills it from the nginx service's label when the task is created); `upstream_watcher.py live green` switches a
running Nginx at once (scripts/bluegreen.sh does both).

The public listeners: with EDGE_SOCKET_PATH, Nginx does not bind the public port itself. The socket holder
(socket_holder.py, a service of its own) holds the listening sockets for every Nginx task; the watcher takes
copies over that Unix socket at start, passes them to Nginx as in Nginx's binary upgrade (NGINX="fd;fd;"), and
writes the `listen` lines into RUNTIME_DIR/listen/ from the addresses it received, so they match exactly (an
inherited socket is used only for a listen line of the same address). So an Nginx update is start-first:
old and new tasks accept from one kernel queue and no connection is refused. Without EDGE_SOCKET_PATH Nginx
listens on 8080 itself. Before Nginx starts, the watcher probes every task once and writes what it found and
the live colour into RUNTIME_DIR/edge-seed.txt, which Nginx's master loads into the shared dictionary before
any worker accepts (lua/edge.lua seed): a new task never answers its first requests without peers.
`upstream_watcher.py health` (the Swarm health check) asks /nginx-healthz on the internal preview listener and,
with a holder, checks that Nginx's master and every accepting worker hold the holder's sockets.

HTTPS: with TLS_CERT_PATH and TLS_KEY_PATH (a PEM certificate chain and its key, Swarm secrets in stack.tls.yml)
the watcher writes the TLS listener into RUNTIME_DIR/tls/ before it starts Nginx; nginx.conf includes that
directory in its main server, so HTTPS serves the same routes. Without them the directory is left empty.

Configuration (environment):
  UPSTREAM_SERVICES  name=dns-name:port[,...]   default: DEFAULT_SERVICES below
  LIVE_COLOUR (blue), HEALTH_PATH (/healthz), HEALTH_HOST (localhost), POLL_SECONDS (1), PROBE_TIMEOUT_SECONDS (2),
  TIMEOUTS_TO_DROP (3), NGINX_STOP_SECONDS (25), DRAIN_SECONDS (2)
  TLS_CERT_PATH, TLS_KEY_PATH (both or neither; absolute paths)
  EDGE_DEBUG_HEADERS (0): 1 adds X-Upstream-Addr to every response (lua/edge_debug.lua reads it; checked here)
  EDGE_SOCKET_PATH: the socket holder's Unix socket (unset: Nginx binds :8080 itself); EDGE_SOCKET_WAIT_SECONDS (60),
  EDGE_TASK_NAME (the hostname): names this task's own handover file, nginx-<name>.sock beside the holder's
"""

from __future__ import annotations

import contextlib
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

# The socket holder's handover (nginx/socket_holder.py; beside this file in the image and in the checkout).
import socket_holder

IMAGE_CONF = os.environ.get("NGINX_CONF", "/etc/nginx/nginx.conf")
RUNTIME_DIR = os.environ.get("NGINX_RUNTIME_DIR", "/tmp/nginx")
# The configuration Nginx runs: a copy of the image's, replaced in place by apply-config.
RUNNING_CONF = os.path.join(RUNTIME_DIR, "nginx.conf")
STATE_PATH = os.path.join(RUNTIME_DIR, "upstreams.json")
PID_PATH = os.path.join(RUNTIME_DIR, "nginx.pid")
# nginx.conf's control server (listens on 127.0.0.1 only).
CONTROL_ADDRESS = ("127.0.0.1", int(os.environ.get("NGINX_CONTROL_PORT", "8091")))
CONNECT_TIMEOUT_SECONDS = 1.0
# nginx.conf's main server includes RUNTIME_DIR/tls/*.conf: the TLS listener, when a certificate is given.
TLS_INCLUDE_DIR = os.path.join(RUNTIME_DIR, "tls")
TLS_PORT = 8443
# nginx.conf's main server includes RUNTIME_DIR/listen/*.conf: the public listen line(s).
LISTEN_INCLUDE_DIR = os.path.join(RUNTIME_DIR, "listen")
# Where Nginx listens when no socket holder hands it the public socket.
OWN_HTTP_PORT = 8080
# Loaded by nginx.conf's init_by_lua (lua/edge.lua seed) before any worker accepts.
SEED_PATH = os.path.join(RUNTIME_DIR, "edge-seed.txt")
# The main server's internal live listener, where the health check asks /nginx-healthz.
HEALTH_URL = os.environ.get("NGINX_HEALTH_URL", "http://127.0.0.1:8082/nginx-healthz")
# Paths written into nginx.conf syntax unquoted: no whitespace, quotes, ';', '{' or '}' can get in.
_NGINX_SAFE_PATH = re.compile(r"/[A-Za-z0-9._/-]+")

HEALTHY, UNHEALTHY, DOWN, TIMEOUT = "healthy", "unhealthy", "down", "timeout"
COLOURS = ("blue", "green")
DEFAULT_SERVICES = ",".join(
    f"{app}-{colour}=tasks.{app}-{colour}:{port}"
    for app, port in (("django", 8000), ("fastapi", 8001))
    for colour in COLOURS
)


class SettingsError(ValueError):
    """A setting in the environment is missing or malformed."""


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must not be negative, got {raw!r}")
    return value


@dataclass(frozen=True)
class TlsSettings:
    cert_path: str
    key_path: str


def tls_settings_load(environ: Mapping[str, str]) -> TlsSettings | None:
    """TLS_CERT_PATH and TLS_KEY_PATH, both or neither; None means plain HTTP only."""
    cert, key = environ.get("TLS_CERT_PATH", "").strip(), environ.get("TLS_KEY_PATH", "").strip()
    if not cert and not key:
        return None
    if not cert or not key:
        missing = "TLS_KEY_PATH" if cert else "TLS_CERT_PATH"
        raise SettingsError(f"{missing} is missing: TLS needs both TLS_CERT_PATH and TLS_KEY_PATH, or neither")
    for name, path in (("TLS_CERT_PATH", cert), ("TLS_KEY_PATH", key)):
        if not _NGINX_SAFE_PATH.fullmatch(path):
            raise SettingsError(f"{name} must be an absolute path of letters, digits, '._-/', got {path!r}")
    return TlsSettings(cert_path=cert, key_path=key)


def _flag(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "0").strip() or "0"
    if raw not in ("0", "1"):
        raise SettingsError(f"{name} must be 0 or 1, got {raw!r}")
    return raw == "1"


@dataclass(frozen=True)
class WatcherSettings:
    services: dict[str, tuple[str, int]]
    health_path: str
    health_host: str
    poll_seconds: float
    probe_timeout_seconds: float
    timeouts_to_drop: int
    nginx_stop_seconds: float
    drain_seconds: float
    live_colour: str
    # The canary share and allowlist (lua/edge.lua): "<percent> [value ...]", from the nginx service's labels.
    canary: str = "0"
    tls: TlsSettings | None = None
    debug_headers: bool = False
    edge_socket_path: str | None = None
    edge_socket_wait_seconds: float = 60.0
    # Names this task's handover file beside the holder's (the container's hostname in Swarm: unique).
    task_name: str = "nginx"


def canary_body(percent: str, allow: Sequence[str]) -> str:
    """POST /edge/canary's body; a share that is no whole number 0-100 is refused here, as Nginx would."""
    if not percent.isdigit() or int(percent) > 100:
        raise SettingsError(f"the canary share must be a whole number 0-100, got {percent!r}")
    return " ".join([str(int(percent)), *allow])


def canary_load(environ: Mapping[str, str]) -> str:
    """CANARY_PERCENT and CANARY_ALLOW (space or comma separated), which stack.yml fills from the nginx
    service's labels when the task is created; empty: no canary."""
    allow = environ.get("CANARY_ALLOW", "").replace(",", " ").split()
    return canary_body(environ.get("CANARY_PERCENT", "").strip() or "0", allow)


def settings_load(environ: Mapping[str, str]) -> WatcherSettings:
    raw = environ.get("UPSTREAM_SERVICES", DEFAULT_SERVICES)
    services: dict[str, tuple[str, int]] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        try:
            name, target = item.split("=", 1)
            host, port = target.rsplit(":", 1)
            services[name.strip()] = (host.strip(), int(port))
        except ValueError:
            raise SettingsError(f"bad UPSTREAM_SERVICES item {item!r} (want name=host:port)") from None
    if not services:
        raise SettingsError("UPSTREAM_SERVICES names no service")
    # Empty when the nginx service has no label yet (first deploy): blue.
    live_colour = environ.get("LIVE_COLOUR", "").strip() or COLOURS[0]
    if live_colour not in COLOURS:
        raise SettingsError(f"LIVE_COLOUR must be one of {', '.join(COLOURS)}, got {live_colour!r}")
    return WatcherSettings(
        canary=canary_load(environ),
        services=services,
        health_path=environ.get("HEALTH_PATH", "/healthz"),
        health_host=environ.get("HEALTH_HOST", "localhost"),
        poll_seconds=_number(environ, "POLL_SECONDS", 1.0),
        probe_timeout_seconds=_number(environ, "PROBE_TIMEOUT_SECONDS", 2.0),
        timeouts_to_drop=max(1, int(_number(environ, "TIMEOUTS_TO_DROP", 3))),
        nginx_stop_seconds=_number(environ, "NGINX_STOP_SECONDS", 25.0),
        drain_seconds=_number(environ, "DRAIN_SECONDS", 2.0),
        live_colour=live_colour,
        tls=tls_settings_load(environ),
        debug_headers=_flag(environ, "EDGE_DEBUG_HEADERS"),
        edge_socket_path=environ.get("EDGE_SOCKET_PATH", "").strip() or None,
        edge_socket_wait_seconds=_number(environ, "EDGE_SOCKET_WAIT_SECONDS", 60.0),
        task_name=environ.get("EDGE_TASK_NAME", "").strip() or socket.gethostname(),
    )


def log(message: str) -> None:
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
    print(f"{now} upstream_watcher: {message}", file=sys.stderr, flush=True)


# --- Decisions (no I/O: unit-tested in tests/nginx/test_upstream_watcher.py) ---


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
    """What lua/edge.lua's seed() loads before Nginx accepts: the live colour, the canary share and allowlist,
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


# --- I/O ---


def task_addresses_resolve(host: str) -> set[str] | None:
    """Task IPs behind a DNS name; empty when the name does not exist (no task), None when DNS failed."""
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror as error:
        if error.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
            return set()
        return None
    return {str(info[4][0]) for info in infos}


def task_health_probe(*, address: str, port: int, path: str, host: str, timeout: float) -> str:
    """One of: healthy, unhealthy (non-2xx, e.g. 503 while draining), down (refused/unreachable), timeout.

    Connecting is the kernel's job and instant for a live task however busy it is, so a failed or slow
    connect means the task is gone (a killed task's address stops answering ARP): "down" at once.
    Only a slow answer counts as "timeout", which a busy task may produce now and then.
    """
    connection = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        connection.sock = socket.create_connection((address, port), timeout=CONNECT_TIMEOUT_SECONDS)
        connection.sock.settimeout(timeout)
    except OSError:
        connection.close()
        return DOWN
    try:
        connection.request("GET", path, headers={"Host": host})
        status = connection.getresponse().status
    except TimeoutError:
        return TIMEOUT
    except (OSError, http.client.HTTPException):
        return DOWN
    finally:
        connection.close()
    return HEALTHY if 200 <= status < 300 else UNHEALTHY


def control_request(method: str, path: str, body: str | None = None, timeout: float = 2.0) -> str:
    """One request to Nginx's control server; raises OSError or RuntimeError when it did not answer 200."""
    connection = http.client.HTTPConnection(*CONTROL_ADDRESS, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "text/plain"})
        response = connection.getresponse()
        text = response.read().decode()
    except http.client.HTTPException as error:
        raise RuntimeError(f"control {method} {path}: {error}") from error
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"control {method} {path} answered {response.status}: {text.strip()}")
    return text


def tls_include_write(tls: TlsSettings | None, directory: str = TLS_INCLUDE_DIR, port: int | str = TLS_PORT) -> None:
    """Write the TLS listener into the directory nginx.conf includes, or leave that directory without it."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "listener.conf")
    if tls is None:
        if os.path.exists(path):
            os.unlink(path)
        return
    with open(path, "w", encoding="utf-8") as include_file:
        include_file.write(tls_listener_conf(tls, port))


def listen_include_write(listeners: list[Listener], directory: str = LISTEN_INCLUDE_DIR) -> None:
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "public.conf"), "w", encoding="utf-8") as include_file:
        include_file.write(http_listen_conf(listeners))


def file_write_atomic(path: str, text: str) -> None:
    temporary = path + ".new"
    with open(temporary, "w", encoding="utf-8") as new_file:
        new_file.write(text)
    os.replace(temporary, path)


def listeners_receive(path: str, wait_seconds: float) -> list[Listener]:
    """Copies of the node's listening sockets: from the holder at `path`, else from another Nginx task's
    watcher beside it; waiting for one to answer (the holder may start after us)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            described, descriptors, source = socket_holder.handover_receive_any(path)
            break
        except OSError as error:
            if time.monotonic() >= deadline:
                raise RuntimeError(f"no listening sockets from the holder at {path}: {error}") from error
            time.sleep(0.5)
    if source != path:
        log(f"the socket holder did not answer; took the listening sockets from {source}")
    return [
        Listener(name=str(item["name"]), address=str(item["address"]), port=int(str(item["port"])), fd=fd)
        for item, fd in zip(described, descriptors, strict=True)
    ]


def state_write(states: Mapping[str, ServiceState]) -> None:
    temporary = STATE_PATH + ".new"
    with open(temporary, "w", encoding="utf-8") as state_file:
        json.dump(state_snapshot(states), state_file, indent=2, sort_keys=True)
    os.replace(temporary, STATE_PATH)


@dataclass
class Watcher:
    """One poll: resolve, probe, decide, push. Its I/O is injectable so tests can drive it without Docker."""

    settings: WatcherSettings
    resolve: Callable[[str], set[str] | None] = task_addresses_resolve
    probe: Callable[..., str] = task_health_probe
    push: Callable[[str], object] = lambda body: control_request("POST", "/edge/peers", body)
    write_state: Callable[[Mapping[str, ServiceState]], None] = state_write
    states: dict[str, ServiceState] = field(init=False)
    _executor: ThreadPoolExecutor = field(init=False)
    # What the state file holds, so it is rewritten only when something changed (polls run every second).
    _written: dict[str, object] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.states = {name: ServiceState(host, port) for name, (host, port) in self.settings.services.items()}
        self._executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="probe")

    def _probe_all(self, state: ServiceState, addresses: set[str]) -> dict[str, str]:
        futures = {
            address: self._executor.submit(
                self.probe,
                address=address,
                port=state.port,
                path=self.settings.health_path,
                host=self.settings.health_host,
                timeout=self.settings.probe_timeout_seconds,
            )
            for address in addresses
        }
        return {address: future.result() for address, future in futures.items()}

    def poll(self) -> None:
        for name, state in self.states.items():
            addresses = self.resolve(state.dns_name)
            probes = self._probe_all(state, addresses) if addresses else {}
            for change in rotation_update(
                name=name,
                state=state,
                addresses=addresses,
                probes=probes,
                timeouts_to_drop=self.settings.timeouts_to_drop,
            ):
                log(change)
        self.push(peers_body(self.states))
        snapshot = state_snapshot(self.states)
        if snapshot == self._written:
            return
        try:
            self.write_state(self.states)
        except OSError as error:
            # The state file is for operators; Nginx already has the peers. The next poll tries again.
            log(f"could not write {STATE_PATH}: {error}")
        else:
            self._written = snapshot

    def poll_guarded(self) -> bool:
        """poll(), but a failure of any kind is logged and reported as False instead of ending the watcher."""
        try:
            self.poll()
        except Exception as error:  # the loop must outlive any one poll, whatever went wrong
            log(f"poll failed: {type(error).__name__}: {error}")
            return False
        return True

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def nginx_config_test(path: str) -> tuple[bool, str]:
    result = subprocess.run(
        ["nginx", "-t", "-q", "-e", "stderr", "-c", path], capture_output=True, text=True, check=False
    )
    return result.returncode == 0, (result.stderr or result.stdout).strip()


def drain_then(action: Callable[[], None], drain_seconds: float) -> None:
    """Ask the running workers to close client connections after their next response, wait, then act."""
    try:
        control_request("POST", "/edge/drain")
    except (OSError, RuntimeError) as error:
        log(f"drain request failed ({error}); going on without it")
    else:
        time.sleep(drain_seconds)
    action()


def nginx_master_pid() -> int:
    with open(PID_PATH, encoding="ascii") as pid_file:
        return int(pid_file.read().strip())


def nginx_accepting_workers(master: int) -> set[int]:
    """Worker PIDs of the master that still accept connections (an old worker's title says "shutting down")."""
    workers = set()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as stat_file:
                parent = int(stat_file.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline_file:
                title = cmdline_file.read().decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue  # a process that exited while we looked
        if parent == master and "worker process" in title and "shutting down" not in title:
            workers.add(int(entry))
    return workers


def nginx_reload(timeout: float = 10.0) -> None:
    """SIGHUP (`nginx -s reload`), then wait until only new workers accept: old ones finish and exit."""
    master = nginx_master_pid()
    old = nginx_accepting_workers(master)
    os.kill(master, signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = nginx_accepting_workers(master)
        if current and not current & old:
            return
        time.sleep(0.02)
    raise RuntimeError(f"nginx did not start new workers within {timeout:.0f}s of the reload")


def apply_config(new_config: str, settings: WatcherSettings) -> int:
    """Replace the running configuration in place: test it, drain, reload. Exit status for the CLI."""
    candidate = RUNNING_CONF + ".candidate"
    with open(candidate, "w", encoding="utf-8") as candidate_file:
        candidate_file.write(new_config)
    valid, output = nginx_config_test(candidate)
    if not valid:
        os.unlink(candidate)
        print(f"apply-config: rejected by nginx -t, nothing changed:\n{output}", file=sys.stderr)
        return 2
    os.replace(candidate, RUNNING_CONF)
    # New workers read the new file; old ones finish their requests and exit.
    drain_then(nginx_reload, settings.drain_seconds)
    print(f"apply-config: reloaded after a {settings.drain_seconds:.1f}s drain", file=sys.stderr)
    return 0


def nginx_start(listeners: list[Listener]) -> subprocess.Popen[bytes]:
    """Nginx in the foreground; with inherited listeners, passed as in its binary upgrade (NGINX=fd;fd;)."""
    environment = {**os.environ, "NGINX": nginx_inherit_variable(listeners)} if listeners else None
    nginx = subprocess.Popen(
        ["nginx", "-e", "stderr", "-c", RUNNING_CONF, "-g", "daemon off;"],
        env=environment,
        pass_fds=[listener.fd for listener in listeners],
    )
    if listeners:
        log(f"nginx inherited {', '.join(f'{item.name} {item.target}' for item in listeners)} from the socket holder")
    return nginx


def handover_start(settings: WatcherSettings, listeners: list[Listener]) -> str | None:
    """Serve this task's copies of the listening sockets beside the holder's path (a thread), so that a holder
    starting while none runs takes them instead of binding a port in use. Returns the path, or None."""
    if not settings.edge_socket_path or not listeners:
        return None
    path = socket_holder.watcher_path(settings.edge_socket_path, settings.task_name)
    server = socket_holder.handover_listen(path)
    held = [(listener.name, socket.socket(fileno=listener.fd)) for listener in listeners]
    threading.Thread(target=socket_holder.handover_serve, args=(server, held), daemon=True, name="handover").start()
    return path


def listeners_prepare(settings: WatcherSettings) -> list[Listener]:
    """The public listeners: the holder's inherited sockets (written as listen lines), or none (Nginx binds)."""
    listeners: list[Listener] = []
    if settings.edge_socket_path:
        listeners = listeners_receive(settings.edge_socket_path, settings.edge_socket_wait_seconds)
        problem = listeners_check(listeners, settings.tls)
        if problem:
            raise RuntimeError(problem)
    listen_include_write(listeners)
    https = [listener for listener in listeners if listener.name == "https"]
    tls_include_write(settings.tls, port=https[0].target if https else TLS_PORT)
    return listeners


def release_state_push(settings: WatcherSettings) -> None:
    """The live colour, then the canary share, to the Nginx just started (the seed had them too; a reload
    since would keep what the dictionary holds). Its control server opens within milliseconds."""
    for _ in range(50):
        try:
            control_request("POST", "/edge/live", settings.live_colour)
            break
        except (OSError, RuntimeError):
            time.sleep(0.1)
    else:
        log("could not set the live colour at start; Nginx defaults to blue")
    try:
        control_request("POST", "/edge/canary", settings.canary)
    except (OSError, RuntimeError) as error:
        log(f"could not set the canary share at start ({error}); the seed's stands")


def run(settings: WatcherSettings) -> int:
    os.makedirs(RUNTIME_DIR, exist_ok=True)
    shutil.copyfile(IMAGE_CONF, RUNNING_CONF)
    try:
        listeners = listeners_prepare(settings)
    except RuntimeError as error:
        log(str(error))
        return 1
    valid, output = nginx_config_test(RUNNING_CONF)
    if not valid:
        log(f"nginx -t rejected {IMAGE_CONF}: {output}")
        return 1
    # The first poll before Nginx starts: its workers accept knowing the peers and the live colour.
    watcher = Watcher(
        settings,
        push=lambda body: file_write_atomic(SEED_PATH, seed_text(settings.live_colour, body, settings.canary)),
    )
    watcher.poll_guarded()
    watcher.push = lambda body: control_request("POST", "/edge/peers", body)
    nginx = nginx_start(listeners)
    own_handover = handover_start(settings, listeners)
    # The live colour goes first, before peers.
    release_state_push(settings)
    log(f"nginx started (pid {nginx.pid}); watching {', '.join(s.dns_name for s in watcher.states.values())}")
    https = f"on :{TLS_PORT} ({settings.tls.cert_path})" if settings.tls else "off"
    log(f"HTTPS {https}; X-Upstream-Addr headers {'on (debug)' if settings.debug_headers else 'off'}")

    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log(f"signal {signal.Signals(signum).name}: draining, then stopping nginx gracefully")
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    healthy_polls = True
    while not stop.is_set():
        if nginx.poll() is not None:
            log(f"nginx exited with status {nginx.returncode}")
            watcher.close()
            return nginx.returncode or 1
        ok = watcher.poll_guarded()
        if ok and not healthy_polls:
            log("polls succeed again")
        healthy_polls = ok
        stop.wait(settings.poll_seconds)

    # SIGQUIT = graceful shutdown: Nginx stops accepting, finishes open requests, then exits.
    drain_then(lambda: nginx.send_signal(signal.SIGQUIT), settings.drain_seconds)
    try:
        nginx.wait(timeout=settings.nginx_stop_seconds)
    except subprocess.TimeoutExpired:
        log("nginx did not stop in time; terminating it")
        nginx.terminate()
        nginx.wait()
    watcher.close()
    if own_handover:
        with contextlib.suppress(OSError):
            os.unlink(own_handover)
    return 0


def process_socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets a process has open (/proc/<pid>/fd links read socket:[inode])."""
    inodes = set()
    directory = f"/proc/{pid}/fd"
    for entry in os.listdir(directory):
        try:
            target = os.readlink(os.path.join(directory, entry))
        except OSError:
            continue  # closed while we looked
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:[") : -1]))
    return inodes


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


def health_problem(settings: WatcherSettings) -> str | None:
    """Why this Nginx task should not count as healthy, or None."""
    try:
        with urllib.request.urlopen(HEALTH_URL, timeout=2) as response:  # noqa: S310 (a fixed http URL)
            response.read()
    except (OSError, ValueError) as error:
        return f"{HEALTH_URL}: {error}"
    if not settings.edge_socket_path:
        return None
    # This task's own copies, as its watcher serves them: the holder may be away for a moment (its update)
    # without this Nginx being any less healthy.
    own = socket_holder.watcher_path(settings.edge_socket_path, settings.task_name)
    try:
        described, descriptors = socket_holder.handover_receive(own)
    except (OSError, ValueError, KeyError) as error:
        return f"the watcher's handover at {own} did not answer: {error}"
    try:
        wanted = {os.fstat(fd).st_ino: item for item, fd in zip(described, descriptors, strict=True)}
    finally:
        for descriptor in descriptors:
            os.close(descriptor)
    try:
        master = nginx_master_pid()
        held = {pid: process_socket_inodes(pid) for pid in [master, *sorted(nginx_accepting_workers(master))]}
    except (OSError, ValueError) as error:
        return f"cannot read nginx's processes: {error}"
    return socket_holding_problem(wanted, held)


def health(settings: WatcherSettings) -> int:
    """The Swarm health check: Nginx answers with a fresh heartbeat and, with a socket holder, Nginx's master
    and every accepting worker hold the holder's listening sockets (else it would serve nobody)."""
    problem = health_problem(settings)
    if problem:
        print(f"health: {problem}", file=sys.stderr)
        return 1
    return 0


def control_print(method: str, path: str, body: Callable[[], str] | None = None) -> int:
    """One control request, its answer on stdout; a refusal (or a BODY that cannot be made) on stderr, exit 1."""
    try:
        print(control_request(method, path, body() if body else None).strip())
    except (SettingsError, RuntimeError) as error:
        print(f"upstream_watcher: {error}", file=sys.stderr)
        return 1
    return 0


def live_switch(colour: str) -> int:
    """Switch the running Nginx to `colour`, which Nginx refuses while an app of it has no task in rotation."""
    return control_print("POST", "/edge/live?require_peers=1", lambda: colour)


def canary_set(args: Sequence[str]) -> int:
    """Set the running Nginx's canary share and allowlist: `canary PERCENT [VALUE ...]`."""
    return control_print("POST", "/edge/canary", lambda: canary_body(args[0], args[1:]))


def main(argv: list[str]) -> int:
    try:
        settings = settings_load(os.environ)
    except SettingsError as error:
        print(f"upstream_watcher: {error}", file=sys.stderr)
        return 64
    commands: dict[tuple[str, ...], Callable[[], int]] = {
        ("apply-config",): lambda: apply_config(sys.stdin.read(), settings),
        ("state",): lambda: control_print("GET", "/edge/state"),
        ("health",): lambda: health(settings),
        ("live", "blue"): lambda: live_switch("blue"),
        ("live", "green"): lambda: live_switch("green"),
        # The edge's figures per colour and route (lua/edge_metrics.lua), as JSON: what the canary reads.
        ("metrics",): lambda: control_print("GET", "/edge/metrics"),
    }
    command = commands.get(tuple(argv[1:]))
    if command is not None:
        return command()
    if argv[1:2] == ["canary"] and len(argv) > 2:
        return canary_set(argv[2:])
    if len(argv) > 1:
        usage = (
            "usage: upstream_watcher.py [apply-config < nginx.conf | state | health | live blue|green"
            " | canary PERCENT [VALUE ...] | metrics]"
        )
        print(usage, file=sys.stderr)
        return 64
    return run(settings)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
