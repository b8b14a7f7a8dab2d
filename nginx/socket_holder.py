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

This file is kept small on purpose, with no dependency beyond CPython's standard library: updating the
holder closes the port between the old holder's exit and the new one's bind (README, "Updating the edge"),
so it should never need an update. Nginx's own code and configuration are not here.

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


def run(environ: Mapping[str, str]) -> int:
    path = environ.get("EDGE_SOCKET_PATH", SOCKET_PATH_DEFAULT)
    backlog = int(environ.get("EDGE_BACKLOG", "4096"))
    listeners = [
        (name, listening_socket(address, port, backlog))
        for name, address, port in listeners_parse(environ.get("EDGE_LISTEN", LISTEN_DEFAULT))
    ]
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)  # a socket file left by a holder that did not exit cleanly
    # Only this user (the Nginx image's www-data) may take the sockets: umask while the file is made.
    previous = os.umask(0o177)
    try:
        server.bind(path)
    finally:
        os.umask(previous)
    server.listen(16)
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
