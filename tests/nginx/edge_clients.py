"""Clients of the edge's tests that tell themselves apart by their loopback source address, as real clients differ
by address: Nginx's per-client limits and the admission queue's fair share (nginx/nginx.conf, lua/admission.lua)
key on it. Linux routes all of 127.0.0.0/8 to loopback, so a socket bound to 127.0.0.2 reaches Nginx on 127.0.0.1
and Nginx sees 127.0.0.2 as the client's address.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer

from tests.nginx.edge_server import Edge, JsonBackend, Reply

# The addresses of the tests' clients: one abusive, one ordinary, and a spare for a second abuser.
ABUSIVE = "127.0.0.2"
ORDINARY = "127.0.0.3"
ABUSIVE_TOO = "127.0.0.4"
JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Timed:
    reply: Reply
    seconds: float

    @property
    def status(self) -> int:
        return self.reply[0]


def request_from(  # noqa: PLR0917 (the order of Edge.request, after the source)
    edge: Edge,
    source: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    timeout: float = 10,
) -> Timed:
    """One request on a new connection from `source`, and how long its answer took."""
    connection = http.client.HTTPConnection("127.0.0.1", edge.port, timeout=timeout, source_address=(source, 0))
    started = time.monotonic()
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        reply = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        return Timed(reply, time.monotonic() - started)
    finally:
        connection.close()


def connect_from(edge: Edge, source: str, *, timeout: float = 10, receive_buffer: int | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:
        # Before connect, so the window the client offers stays that small.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(timeout)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", edge.port))
    return sock


def request_head(
    method: str, path: str, *, length: int, headers: Mapping[str, str] | None = None, host: str = "edge"
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_reply(sock: socket.socket) -> Reply:
    """One response from a raw socket (Content-Length bodies only), or an OSError/TimeoutError."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response: {data[:200]!r}")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


@dataclass
class Tricklers:
    """Sockets that sent a request's head and then send its body one byte every `every` seconds."""

    sockets: list[socket.socket]
    every: float
    answered: list[bytes] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            for sock in list(self.sockets):
                try:
                    sock.sendall(b" ")
                except OSError:
                    self.sockets.remove(sock)

    def open_count(self) -> int:
        """Sockets Nginx has neither answered nor closed yet."""
        still = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                still += 1
                continue
            except OSError:
                continue
            finally:
                sock.setblocking(True)
            if data:
                self.answered.append(data)
        return still


@contextmanager
def trickling(
    edge: Edge, source: str, counts: Mapping[str, int], *, every: float, method: str = "POST"
) -> Iterator[Tricklers]:
    """`counts[path]` requests from `source`, each declaring a 4 KiB body and trickling it (a slow or hostile
    client: Nginx's client_body_timeout restarts on every byte)."""
    sockets = []
    try:
        for path, count in counts.items():
            for _ in range(count):
                sock = connect_from(edge, source)
                sock.sendall(request_head(method, path, length=4096, headers=JSON) + b"{")
                sockets.append(sock)
        tricklers = Tricklers(sockets=sockets, every=every)
        thread = threading.Thread(target=tricklers._run, daemon=True)
        thread.start()
        yield tricklers
        tricklers._stop.set()
        thread.join()
    finally:
        for sock in sockets:
            sock.close()


def pipelined_statuses(edge: Edge, source: str, path: str, count: int) -> tuple[list[int], list[Reply]]:
    """`count` GETs of `path` written at once on one connection from `source` (the last one closes it); the
    status of each answer, in order, and the answers themselves."""
    requests = [f"GET {path} HTTP/1.1\r\nHost: edge\r\n\r\n".encode()] * (count - 1)
    requests.append(f"GET {path} HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n".encode())
    with connect_from(edge, source, timeout=30) as sock:
        sender = threading.Thread(target=sock.sendall, args=(b"".join(requests),), daemon=True)
        sender.start()
        data = b""
        while chunk := sock.recv(1 << 20):
            data += chunk
        sender.join()
    replies = []
    for part in re.split(rb"(?=HTTP/1\.1 \d{3} )", data):
        if not part:
            continue
        head, _, body = part.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}
        replies.append((int(lines[0].split()[1]), headers, body))
    return [reply[0] for reply in replies], replies


class SizedBackend(JsonBackend):
    """A stand-in app task: answers 200 JSON after reading the body; ?size=N pads the answer to N bytes and
    ?sleep=S answers late."""

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        size = re.search(r"[?&]size=(\d+)", self.path)
        sleep = re.search(r"[?&]sleep=([0-9.]+)", self.path)
        if sleep:
            time.sleep(float(sleep.group(1)))
        body = json.dumps({"pad": "x" * (int(size.group(1)) if size else 0)}).encode()
        self.send_json(200, body)

    do_GET = do_POST = _answer


@contextmanager
def sized_backend() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SizedBackend)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
