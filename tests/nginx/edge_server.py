"""The stack's real nginx.conf and lua/ modules in a real Nginx on loopback, for the edge's tests.

Only ports and paths are rewritten (and, where a test says so, one more directive); routing, the Lua balancer,
the control server, limits, error pages and TLS settings are the ones the image runs.
"""

from __future__ import annotations

import http.client
import importlib
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import pytest

from tests.servers import free_port

NGINX_DIR = Path(__file__).resolve().parents[2] / "nginx"


def nginx_module(name: str) -> ModuleType:
    """nginx/<name>.py, imported once: the edge's Python ships as files in the Nginx image, not as a package.
    The watcher imports its modules (watcher_*.py, socket_holder.py) from its own folder, which Python puts on
    sys.path when it runs the script; here nginx/ goes last on sys.path, so it shadows nothing installed."""
    if str(NGINX_DIR) not in sys.path:
        sys.path.append(str(NGINX_DIR))
    return importlib.import_module(name)


Reply = tuple[int, dict[str, str], bytes]


class JsonBackend(BaseHTTPRequestHandler):
    """A stand-in app task's HTTP/1.1 plumbing: keep-alive, a JSON answer with its length, no request log."""

    protocol_version = "HTTP/1.1"

    def send_json(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


class EchoBackend(JsonBackend):
    """A stand-in app task: answers 200 JSON with its port, the path and the headers it received (?sleep=S: late,
    ?status=N: that status);
    an empty upload to /api/jobs/import/ gets the 400 Django's import view gives it."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        received = len(self.rfile.read(length))
        if self.command == "POST" and self.path.startswith("/api/jobs/import/") and received == 0:
            # What Django's import view answers an empty upload once the token passed: the edge's token check
            # (lua/edge_uploads.lua) then lets the upload through.
            self._refuse_empty_upload()
            return
        # ?sleep=S makes this a slow request (a search on a busy database).
        sleep = re.search(r"[?&]sleep=([0-9.]+)", self.path)
        if sleep:
            time.sleep(float(sleep.group(1)))
        # ?status=N answers N (a release that fails some requests).
        status = re.search(r"[?&]status=([0-9]{3})", self.path)
        body = json.dumps(
            {
                "backend": cast(ThreadingHTTPServer, self.server).server_port,
                "path": self.path,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body_bytes": received,
            }
        ).encode()
        self.send_json(int(status.group(1)) if status else 200, body)

    def _refuse_empty_upload(self) -> None:
        body = (
            b'{"error":{"code":"validation_error","message":"Invalid jobs request: file.",'
            b'"fields":{"file":"must not be empty"}}}'
        )
        self.send_json(400, body)

    do_GET = do_POST = _answer


@contextmanager
def echo_backends(count: int) -> Iterator[list[int]]:
    """`count` EchoBackend servers on loopback; yields their ports."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), EchoBackend) for _ in range(count)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield [int(server.server_address[1]) for server in servers]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path


def self_signed_certificate(folder: Path) -> TlsFiles:
    """A throwaway certificate for localhost and 127.0.0.1 (openssl CLI), never committed."""
    files = TlsFiles(cert=folder / "cert.pem", key=folder / "key.pem")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(files.key), "-out", str(files.cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return files


@dataclass
class Edge:
    root: Path
    port: int
    preview_port: int
    control_port: int
    tls_port: int | None
    conf: Path
    pid_file: Path
    tls: TlsFiles | None
    metrics_port: int = 0

    def connection(self, *, tls: bool = False, timeout: float = 10) -> http.client.HTTPConnection:
        if not tls:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        assert self.tls is not None and self.tls_port is not None, "this edge has no TLS listener"
        context = ssl.create_default_context(cafile=str(self.tls.cert))
        return http.client.HTTPSConnection("127.0.0.1", self.tls_port, timeout=timeout, context=context)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        tls: bool = False,
    ) -> Reply:
        connection = self.connection(tls=tls)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def push_peers(self, **services: list[int]) -> None:
        """Peers by service (django_blue=[port, ...]), straight to the control server as the watcher does."""
        body = "".join(
            f"{name.replace('_', '-')} {' '.join(f'127.0.0.1:{port}' for port in ports)}\n"
            for name, ports in services.items()
        )
        connection = http.client.HTTPConnection("127.0.0.1", self.control_port, timeout=10)
        try:
            connection.request("POST", "/edge/peers", body=body)
            response = connection.getresponse()
            assert response.status == 200, response.read()
            json.loads(response.read())
        finally:
            connection.close()

    def state(self) -> dict[str, Any]:
        """The control server's GET /edge/state: peers, live colour, searches in flight per service."""
        connection = http.client.HTTPConnection("127.0.0.1", self.control_port, timeout=10)
        try:
            connection.request("GET", "/edge/state")
            return dict(json.loads(connection.getresponse().read()))
        finally:
            connection.close()

    def access_log(self) -> str:
        return (self.root / "access.log").read_text()


def port_closed(port: int) -> bool:
    try:
        http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
    except OSError:
        return True
    return False


@dataclass(frozen=True)
class EdgeFiles:
    """The shipped nginx.conf and Lua, rewritten into a folder with free ports for the internal listeners."""

    conf: Path
    preview_port: int
    control_port: int
    placeholder_port: int
    internal_port: int
    metrics_port: int


def edge_files_write(root: Path, rewrite: Mapping[str, str] | None = None) -> EdgeFiles:
    """nginx.conf and lua/ in `root` (which takes the place of /tmp/nginx); the public listen line is not
    written here: the watcher writes it, or running_edge does."""
    # Nginx's workers run as nobody when the master is root: everything they read must be world-readable.
    root.chmod(0o755)
    preview_port, control_port, placeholder_port, internal_port = free_port(), free_port(), free_port(), free_port()
    metrics_port = free_port()
    lua_dir = root / "lua"
    lua_dir.mkdir()
    for module in (NGINX_DIR / "lua").glob("*.lua"):
        (lua_dir / module.name).write_text(module.read_text())
    edge_lua = lua_dir / "edge.lua"
    edge_lua.write_text(edge_lua.read_text().replace('127.0.0.1", 8090', f'127.0.0.1", {placeholder_port}'))
    conf = (NGINX_DIR / "nginx.conf").read_text()
    for old, new in {
        "/tmp/nginx": str(root),
        "/etc/nginx/lua/": f"{lua_dir}/",
        "listen 127.0.0.1:8081": f"listen 127.0.0.1:{preview_port}",
        "8081 1;": f"{preview_port} 1;",
        "listen 127.0.0.1:8091": f"listen 127.0.0.1:{control_port}",
        "listen 127.0.0.1:8090": f"listen 127.0.0.1:{placeholder_port}",
        "listen 127.0.0.1:8082": f"listen 127.0.0.1:{internal_port}",
        "listen 9145;": f"listen 127.0.0.1:{metrics_port};",
        "access_log /dev/stdout": f"access_log {root}/access.log",
        **(rewrite or {}),
    }.items():
        assert old in conf, old
        conf = conf.replace(old, new)
    conf_path = root / "nginx.conf"
    conf_path.write_text(conf)
    return EdgeFiles(conf_path, preview_port, control_port, placeholder_port, internal_port, metrics_port)


# Attempts at starting Nginx when one of its free ports was taken before it could bind it (free_port picks a
# port the kernel had free a moment ago; on a busy machine another socket can get it first).
EDGE_START_ATTEMPTS = 3


class PortTaken(Exception):
    """Nginx did not start: a port picked for it was taken in the meantime."""


@contextmanager
def running_edge(
    *,
    environ: Mapping[str, str] | None = None,
    tls: bool = False,
    rewrite: Mapping[str, str] | None = None,
) -> Iterator[Edge]:
    """Nginx on free loopback ports with the shipped config; `environ` is added to Nginx's environment,
    `tls` adds the TLS listener the watcher writes (self-signed certificate), `rewrite` replaces more text."""
    if shutil.which("nginx") is None:
        pytest.fail("nginx is not installed: scripts/system-packages.sh installs it", pytrace=False)
    for attempt in range(1, EDGE_START_ATTEMPTS + 1):
        root = Path(tempfile.mkdtemp(prefix="partscat-edge-"))
        try:
            edge, nginx, log = _edge_start(root, environ=environ, tls=tls, rewrite=rewrite)
        except PortTaken:
            shutil.rmtree(root, ignore_errors=True)
            if attempt == EDGE_START_ATTEMPTS:
                raise
            continue
        try:
            yield edge
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)
            log.close()
            shutil.rmtree(root, ignore_errors=True)
        return


def _edge_start(
    root: Path,
    *,
    environ: Mapping[str, str] | None,
    tls: bool,
    rewrite: Mapping[str, str] | None,
) -> tuple[Edge, subprocess.Popen[bytes], Any]:
    port = free_port()
    files = edge_files_write(root, rewrite)
    conf_path, preview_port, control_port = files.conf, files.preview_port, files.control_port
    # The public listener the watcher writes at start (here: Nginx binds a free loopback port itself).
    (root / "listen").mkdir()
    (root / "listen" / "public.conf").write_text(f"listen 127.0.0.1:{port} default_server;\n")

    tls_files, tls_port = None, None
    if tls:
        tls_files, tls_port = self_signed_certificate(root), free_port()
        settings = nginx_module("watcher_settings").TlsSettings(
            cert_path=str(tls_files.cert), key_path=str(tls_files.key)
        )
        nginx_module("watcher_listeners").tls_include_write(settings, directory=str(root / "tls"), port=tls_port)

    # Debug headers only when a test asks for them, whatever the environment of the test run.
    env = {name: value for name, value in os.environ.items() if name != "EDGE_DEBUG_HEADERS"}
    log = (root / "error.log").open("w")
    nginx = subprocess.Popen(
        ["nginx", "-c", str(conf_path), "-g", "daemon off;"], stderr=log, env={**env, **(environ or {})}
    )
    deadline = time.monotonic() + 10
    while not (root / "nginx.pid").exists() or port_closed(control_port):
        if nginx.poll() is not None:
            log.close()
            errors = (root / "error.log").read_text()
            if "Address already in use" in errors:
                raise PortTaken(errors)
            raise AssertionError(errors)
        if time.monotonic() > deadline:
            nginx.terminate()
            nginx.wait(timeout=10)
            log.close()
            raise AssertionError("nginx did not start")
        time.sleep(0.05)
    edge = Edge(
        root=root,
        port=port,
        preview_port=preview_port,
        control_port=control_port,
        tls_port=tls_port,
        conf=conf_path,
        pid_file=root / "nginx.pid",
        tls=tls_files,
        metrics_port=files.metrics_port,
    )
    return edge, nginx, log
