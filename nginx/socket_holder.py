"""Hold the edge's public listening sockets for every Nginx task, so that Nginx updates start-first.

A host port can be bound once. If each Nginx task bound it, a new task could start only after the old one
let go: an update would refuse connections for the time between (0.66-0.74 s measured). This process binds
the public port(s) once, listens, never accepts, and hands the listening socket to each Nginx task that asks
over a Unix socket (SCM_RIGHTS). Every Nginx task then accepts from the same kernel queue: a new task starts
accepting beside the old one, the old one stops accepting and finishes its requests, and a connection that
arrives at any moment waits in the queue for whichever accepts first. Nothing is ever refused.

Nginx takes the socket as in its binary upgrade: the watcher puts the descriptor at fd 3 and starts Nginx
with NGINX="3;" (nginx.c ngx_add_inherited_sockets). Nginx uses it only for a `listen` line whose address
is the socket's address exactly (ngx_init_cycle compares the addresses), never sets it non-blocking itself
(ngx_open_listening_sockets skips inherited sockets), and a `reuseport` listen would make it open sockets of
its own: so this holder sets O_NONBLOCK (shared by every copy of the descriptor) and never SO_REUSEPORT, and
the watcher writes the listen line from the address it receives (upstream_watcher.py).

The holder is updated start-first too: a new holder first asks the running one (at the same Unix socket
path) for its sockets and keeps those whose address it is configured for, so the listening socket itself
never closes; only an address it does not get that way is bound anew. Then it takes over the path. Each
Nginx task's watcher serves the copies it took the same way, beside the holder's path (nginx-<host>.sock),
so that a holder that starts while none runs (after a crash, or a stop-first update) takes the socket the
running Nginx tasks hold instead of failing to bind a port in use. The file is kept small, with nothing
beyond CPython's standard library, so that it seldom needs an update at all.

Environment:
  EDGE_LISTEN        name=address:port[,...]   default http=0.0.0.0:8080 (names: http, https)
  EDGE_SOCKET_PATH   the Unix socket it serves  default /run/edge/holder.sock
  EDGE_BACKLOG       listen backlog             default 4096 (the kernel caps it at net.core.somaxconn)

`socket_holder.py check` (the health check) asks the running holder for its sockets and checks that each
is a listening TCP socket.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from collections.abc import Mapping

SOCKET_PATH_DEFAULT = "/run/edge/holder.sock"
LISTEN_DEFAULT = "http=0.0.0.0:8080"
# What one handover message may carry: the JSON description is a few hundred bytes.
MESSAGE_BYTES = 4096
MAX_LISTENERS = 8


def listeners_parse(raw: str) -> list[tuple[str, str, int]]:
    """'http=0.0.0.0:8080,https=0.0.0.0:8443' -> [('http', '0.0.0.0', 8080), ('https', '0.0.0.0', 8443)]."""
    listeners = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, _, target = item.partition("=")
        address, _, port = target.rpartition(":")
        if not name.isidentifier() or not address or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"bad EDGE_LISTEN item {item!r} (want name=address:port)")
        listeners.append((name, address, int(port)))
    names = [name for name, _, _ in listeners]
    if not listeners or len(set(names)) != len(names) or len(listeners) > MAX_LISTENERS:
        raise ValueError(f"EDGE_LISTEN must name 1 to {MAX_LISTENERS} listeners, each once: {raw!r}")
    return listeners


def listening_socket(address: str, port: int, backlog: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A holder restarted while connections of the old one sit in TIME_WAIT can bind again at once.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(backlog)
    # Nginx never sets an inherited socket non-blocking; O_NONBLOCK is on the open file, so every copy has it.
    sock.setblocking(False)
    return sock


def handover_serve(server: socket.socket, listeners: list[tuple[str, socket.socket]]) -> None:
    """Answer each connection with the listeners' description and their descriptors; never returns."""
    description = json.dumps(
        {
            "pid": os.getpid(),
            "listeners": [
                {"name": name, "address": sock.getsockname()[0], "port": sock.getsockname()[1]}
                for name, sock in listeners
            ],
        }
    ).encode()
    descriptors = [sock.fileno() for _, sock in listeners]
    while True:
        connection, _ = server.accept()
        with connection:
            connection.settimeout(2)
            try:
                socket.send_fds(connection, [description], descriptors)
            except OSError as error:
                print(f"socket_holder: handover failed: {error}", file=sys.stderr, flush=True)


def handover_listen(path: str) -> socket.socket:
    """The Unix socket a handover is served on, at `path`: bound beside it, then renamed over it, so a file
    already there (a running holder's, which serves its open socket until it stops, or one left by a crash)
    is replaced at once and the path never goes missing. Only this user (www-data in both images) may use it."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    staging = f"{path}.{os.getpid()}"
    if os.path.exists(staging):
        os.unlink(staging)
    mask = os.umask(0o177)
    try:
        server.bind(staging)
    finally:
        os.umask(mask)
    server.listen(16)
    os.rename(staging, path)
    return server


def handover_receive(path: str, timeout: float = 2.0) -> tuple[list[dict[str, object]], list[int]]:
    """Ask the holder at `path` for its listeners: (their description, one new descriptor each)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout)
        client.connect(path)
        message, descriptors, _flags, _address = socket.recv_fds(client, MESSAGE_BYTES, MAX_LISTENERS)
    listeners = json.loads(message)["listeners"]
    if len(listeners) != len(descriptors):
        for descriptor in descriptors:
            os.close(descriptor)
        raise OSError(f"the holder described {len(listeners)} listeners and sent {len(descriptors)} descriptors")
    return listeners, descriptors


def check(path: str) -> int:
    """Health: the holder answers and every socket it hands out is a listening TCP socket."""
    try:
        listeners, descriptors = handover_receive(path)
    except (OSError, ValueError, KeyError) as error:
        print(f"socket_holder: no handover from {path}: {error}", file=sys.stderr)
        return 1
    try:
        for listener, descriptor in zip(listeners, descriptors, strict=True):
            with socket.socket(fileno=os.dup(descriptor)) as sock:
                if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                    print(f"socket_holder: {listener} is not listening", file=sys.stderr)
                    return 1
    finally:
        for descriptor in descriptors:
            os.close(descriptor)
    print(json.dumps(listeners))
    return 0


def watcher_path(holder_path: str, host: str) -> str:
    """Where the watcher of the Nginx task on `host` serves the sockets it took: beside the holder's path."""
    return os.path.join(os.path.dirname(holder_path), f"nginx-{host}.sock")


def handover_receive_any(path: str) -> tuple[list[dict[str, object]], list[int], str]:
    """The sockets held on this node: from the holder at `path`, else from the first Nginx task's watcher
    beside it that answers (a task that stopped without removing its file does not answer). Also says which.
    Raises OSError when nobody answers."""
    folder = os.path.dirname(path) or "."
    siblings = sorted(name for name in os.listdir(folder) if name.startswith("nginx-") and name.endswith(".sock"))
    problems = []
    for candidate in [path, *(os.path.join(folder, name) for name in siblings)]:
        try:
            described, descriptors = handover_receive(candidate)
        except (OSError, ValueError, KeyError) as error:
            problems.append(f"{candidate}: {error}")
            continue
        return described, descriptors, candidate
    raise OSError("; ".join(problems))


def running_sockets(path: str) -> dict[tuple[str, int], socket.socket]:
    """The listening sockets already held on this node by (address, port); none when nobody answers."""
    try:
        described, descriptors, source = handover_receive_any(path)
    except OSError:
        return {}
    print(f"socket_holder: took the running sockets from {source}", file=sys.stderr, flush=True)
    return {
        (str(item["address"]), int(str(item["port"]))): socket.socket(fileno=descriptor)
        for item, descriptor in zip(described, descriptors, strict=True)
    }


def run(environ: Mapping[str, str]) -> int:
    path = environ.get("EDGE_SOCKET_PATH", SOCKET_PATH_DEFAULT)
    backlog = int(environ.get("EDGE_BACKLOG", "4096"))
    wanted = listeners_parse(environ.get("EDGE_LISTEN", LISTEN_DEFAULT))
    previous = running_sockets(path)
    listeners = []
    for name, address, port in wanted:
        taken = previous.pop((address, port), None)
        listeners.append((name, taken if taken is not None else listening_socket(address, port, backlog)))
        how = "taken over" if taken is not None else "bound"
        print(f"socket_holder: {name} {address}:{port} {how}", file=sys.stderr, flush=True)
    for unused in previous.values():
        unused.close()  # an address this holder is no longer configured for: closed once the old holder stops
    server = handover_listen(path)
    shown = ", ".join(f"{name} {sock.getsockname()[0]}:{sock.getsockname()[1]}" for name, sock in listeners)
    print(f"socket_holder: holding {shown}; handing them over at {path}", file=sys.stderr, flush=True)
    # SIGTERM ends the process at once: the sockets stay open in every Nginx task that has them.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    handover_serve(server, listeners)
    return 0


def main(argv: list[str]) -> int:
    if argv[1:] == ["check"]:
        return check(os.environ.get("EDGE_SOCKET_PATH", SOCKET_PATH_DEFAULT))
    if len(argv) > 1:
        print("usage: socket_holder.py [check]", file=sys.stderr)
        return 64
    try:
        return run(os.environ)
    except (OSError, ValueError) as error:
        print(f"socket_holder: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
