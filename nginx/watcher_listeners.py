"""The public listeners Nginx starts with: the socket holder's sockets taken at start and served on to a
later holder, and the listen and TLS lines written where nginx.conf includes them."""

from __future__ import annotations

import os
import socket
import threading
import time

# The socket holder's handover (nginx/socket_holder.py; beside this file in the image and in the checkout).
import socket_holder
from watcher_decisions import TLS_PORT, Listener, http_listen_conf, listeners_check, tls_listener_conf
from watcher_log import log
from watcher_settings import RUNTIME_DIR, TlsSettings, WatcherSettings

# nginx.conf's main server includes RUNTIME_DIR/tls/*.conf: the TLS listener, when a certificate is given.
TLS_INCLUDE_DIR = os.path.join(RUNTIME_DIR, "tls")
# nginx.conf's main server includes RUNTIME_DIR/listen/*.conf: the public listen line(s).
LISTEN_INCLUDE_DIR = os.path.join(RUNTIME_DIR, "listen")


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
