"""The public socket outlives every Nginx: nginx/socket_holder.py holds it, each watcher hands it to its Nginx.

Real processes on loopback, as the stack runs them but without Docker: the holder binds a free port, two
watchers (`upstream_watcher.py`, each with the shipped nginx.conf in its own folder, as two Nginx tasks have
their own containers) take the socket in turn, and the first is stopped as Swarm stops a task. Clients that
open a new TCP connection every few milliseconds and keep-alive clients run throughout; refusals, resets and
HTTP failures are counted apart. Also: the seed a new Nginx routes with before the watcher's first push, and
the health check that tells an Nginx holding the shared socket from one that does not.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest

from tests.nginx.edge_server import NGINX_DIR, echo_backends, edge_files_write, port_closed
from tests.servers import free_port

HOLDER = NGINX_DIR / "socket_holder.py"
WATCHER = NGINX_DIR / "upstream_watcher.py"


def _python(script: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True, check=False)


def _wait(predicate: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def holder_start(port: int, path: Path) -> subprocess.Popen[bytes]:
    """The socket holder on 127.0.0.1:`port` serving at `path`; returns once it took the path over."""
    before = path.stat().st_ino if path.exists() else None
    env = {**os.environ, "EDGE_LISTEN": f"http=127.0.0.1:{port}", "EDGE_SOCKET_PATH": str(path)}
    with (path.parent / f"holder-{time.monotonic_ns()}.log").open("wb") as log:
        holder = subprocess.Popen([sys.executable, str(HOLDER)], env=env, stderr=log)
    _wait(lambda: path.exists() and path.stat().st_ino != before, "the holder's socket")
    return holder


def holder_stop(holder: subprocess.Popen[bytes]) -> None:
    holder.terminate()
    holder.wait(timeout=10)


@contextmanager
def running_holder(port: int) -> Iterator[Path]:
    """The socket holder on 127.0.0.1:`port`; yields its Unix socket's path."""
    folder = Path(tempfile.mkdtemp(prefix="partscat-holder-"))
    holder = holder_start(port, folder / "holder.sock")
    try:
        yield folder / "holder.sock"
    finally:
        holder_stop(holder)
        shutil.rmtree(folder, ignore_errors=True)


def _held_inode(socket_holder: ModuleType, path: Path) -> int:
    _, descriptors = socket_holder.handover_receive(str(path))
    try:
        return os.fstat(descriptors[0]).st_ino
    finally:
        for descriptor in descriptors:
            os.close(descriptor)


@dataclass
class EdgeTask:
    """One watcher and its Nginx, in a folder of its own (what one Nginx task's container holds)."""

    root: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    def health(self, **extra: str) -> subprocess.CompletedProcess[str]:
        return _python(WATCHER, "health", env={**self.env, **extra})

    def requests_served(self) -> int:
        log = self.root / "access.log"
        return len(log.read_text().splitlines()) if log.exists() else 0

    def log(self) -> str:
        return (self.root / "watcher.log").read_text()


@contextmanager
def edge_task(holder_socket: Path, backend: int, **extra: str) -> Iterator[EdgeTask]:
    root = Path(tempfile.mkdtemp(prefix="partscat-edge-task-"))
    files = edge_files_write(root)
    # The watcher copies its image's file to RUNTIME_DIR/nginx.conf: the image's must be another file.
    image_conf = files.conf.rename(root / "image.conf")
    services = ",".join(
        f"{app}-{colour}=127.0.0.1:{backend}" for app in ("django", "fastapi") for colour in ("blue", "green")
    )
    env = {
        **os.environ,
        "NGINX_CONF": str(image_conf),
        "NGINX_RUNTIME_DIR": str(root),
        "NGINX_CONTROL_PORT": str(files.control_port),
        "NGINX_HEALTH_URL": f"http://127.0.0.1:{files.internal_port}/nginx-healthz",
        "EDGE_SOCKET_PATH": str(holder_socket),
        "UPSTREAM_SERVICES": services,
        "POLL_SECONDS": "0.5",
        "DRAIN_SECONDS": "0.5",
        # Two tasks on one host: their own handover files need names of their own (in Swarm: the hostname).
        "EDGE_TASK_NAME": root.name,
        **extra,
    }
    with (root / "watcher.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, str(WATCHER)], env=env, stderr=log)
    task = EdgeTask(root, env, process)
    try:
        yield task
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


def _healthy(task: EdgeTask) -> bool:
    assert task.process.poll() is None, task.log()
    return task.health().returncode == 0


@dataclass
class Clients:
    """Keep-alive clients and new-connection probers against one port; what each saw, by kind."""

    port: int
    seen: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _count(self, kind: str) -> None:
        with self._lock:
            self.seen[kind] += 1

    def _one(self, connection: http.client.HTTPConnection) -> None:
        try:
            connection.request("GET", "/mark/")
            response = connection.getresponse()
            response.read()
            self._count("ok" if response.status == 200 else f"http {response.status}")
        except ConnectionRefusedError:
            self._count("refused")
            connection.close()
        except ConnectionResetError:
            self._count("reset")
            connection.close()
        except (OSError, http.client.HTTPException) as error:
            self._count(f"other {type(error).__name__}")
            connection.close()

    def _keepalive(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self._stop.is_set():
            self._one(connection)
        connection.close()

    def _prober(self) -> None:
        # A new TCP connection every 2 ms: a refusal lasting a few milliseconds would be met.
        while not self._stop.wait(0.002):
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            self._one(connection)
            connection.close()

    def __enter__(self) -> Clients:
        for target in (self._keepalive, self._keepalive, self._prober, self._prober):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop and wait for every client (again: nothing more happens)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="module")
def backend() -> Iterator[int]:
    with echo_backends(1) as ports:
        yield ports[0]


def test_nginx_replaced_start_first_on_the_held_socket_refuses_and_resets_nothing(backend: int) -> None:
    port = free_port()
    with running_holder(port) as holder, edge_task(holder, backend) as old:
        _wait(lambda: _healthy(old), "the first nginx to hold the socket")
        assert "inherited http 127.0.0.1" in old.log()
        clients = Clients(port)
        with edge_task(holder, backend) as new, clients:
            time.sleep(0.5)
            # Start-first: the new task starts beside the old one and takes connections from the same queue.
            _wait(lambda: _healthy(new), "the second nginx to hold the socket")
            time.sleep(0.5)
            old.process.send_signal(signal.SIGTERM)  # as Swarm stops the old task: drain, then SIGQUIT
            assert old.process.wait(timeout=30) == 0, old.log()
            served_by_old = old.requests_served()
            time.sleep(0.5)
            served_by_new_after = new.requests_served()
            time.sleep(0.5)
            assert new.requests_served() > served_by_new_after, "the new nginx stopped serving"
        # Nothing refused, nothing reset, no HTTP failure: every connection was accepted by one nginx or the other.
        assert set(clients.seen) == {"ok"}, clients.seen
        assert clients.seen["ok"] > 200, clients.seen
        assert served_by_old > 0


def test_the_holder_replaced_start_first_hands_on_the_same_socket(socket_holder: ModuleType, backend: int) -> None:
    """A new holder takes the listening socket from the running one, so the socket never closes: the holder,
    then Nginx, are replaced and the port refuses nothing."""
    port = free_port()
    with running_holder(port) as path, edge_task(path, backend) as old_edge:
        _wait(lambda: _healthy(old_edge), "nginx on the first holder's socket")
        first = _held_inode(socket_holder, path)
        clients = Clients(port)
        with clients:
            time.sleep(0.3)
            new_holder = holder_start(port, path)  # start-first: beside the running holder, on the same path
            try:
                assert _held_inode(socket_holder, path) == first, "the new holder bound a socket of its own"
                with edge_task(path, backend) as new_edge:
                    _wait(lambda: _healthy(new_edge), "nginx on the new holder's socket")
                    old_edge.process.send_signal(signal.SIGTERM)
                    assert old_edge.process.wait(timeout=30) == 0, old_edge.log()
                    served = new_edge.requests_served()
                    time.sleep(0.5)
                    assert new_edge.requests_served() > served
                    clients.stop()  # before this Nginx stops: no Nginx would be left to answer
            finally:
                holder_stop(new_holder)
        assert set(clients.seen) == {"ok"}, clients.seen
        assert clients.seen["ok"] > 100, clients.seen


def test_connections_wait_in_the_holders_queue_while_no_nginx_accepts(backend: int) -> None:
    """Between two Nginx (or with none), the port is not closed: a connection waits to be accepted."""
    port = free_port()
    with running_holder(port) as holder:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.connect()  # the kernel completes the handshake into the holder's queue
        connection.request("GET", "/mark/")
        with edge_task(holder, backend) as task:
            _wait(lambda: _healthy(task), "nginx to hold the socket")
            response = connection.getresponse()
            assert response.status == 200, response.read()
            connection.close()


def test_health_fails_for_an_nginx_that_does_not_hold_the_socket_its_watcher_hands_out(
    socket_holder: ModuleType, backend: int
) -> None:
    with (
        running_holder(free_port()) as holder,
        running_holder(free_port()) as other_holder,
        edge_task(holder, backend) as task,
    ):
        _wait(lambda: _healthy(task), "nginx holding its holder's socket")
        # A handover file under this task's name beside the other holder, serving that holder's socket: the
        # same Nginx, asked about it, does not hold that one.
        described, descriptors = socket_holder.handover_receive(str(other_holder))
        served = [(item["name"], socket.socket(fileno=fd)) for item, fd in zip(described, descriptors, strict=True)]
        server = socket_holder.handover_listen(str(other_holder.parent / f"nginx-{task.root.name}.sock"))
        threading.Thread(target=socket_holder.handover_serve, args=(server, served), daemon=True).start()
        result = task.health(EDGE_SOCKET_PATH=str(other_holder))
        assert result.returncode == 1
        assert "does not hold the holder's socket" in result.stderr, result.stderr


def test_a_new_nginx_takes_the_socket_from_a_running_one_while_no_holder_runs(backend: int) -> None:
    """The holder away (a crash, a stop-first update): a new Nginx task, and a new holder, take the socket
    from the running Nginx task's watcher instead of failing to bind a port in use."""
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="partscat-holder-"))
    path = folder / "holder.sock"
    try:
        holder = holder_start(port, path)
        with edge_task(path, backend) as first:
            _wait(lambda: _healthy(first), "nginx on the holder's socket")
            holder_stop(holder)
            path.unlink()
            with edge_task(path, backend) as second:
                _wait(lambda: _healthy(second), "nginx on the first nginx's socket")
                assert "took the listening sockets from" in second.log()
                holder = holder_start(port, path)  # binds nothing: takes the socket the tasks hold
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    connection.request("GET", "/mark/")
                    assert connection.getresponse().status == 200
                finally:
                    holder_stop(holder)
        assert "taken over" in "".join(log.read_text() for log in folder.glob("holder-*.log"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_without_the_holder_the_watcher_does_not_start_nginx(backend: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="partscat-no-holder-"))
    try:
        with edge_task(folder / "absent.sock", backend, EDGE_SOCKET_WAIT_SECONDS="1") as task:
            assert task.process.wait(timeout=30) == 1
            assert "no listening sockets from the holder" in task.log()
            assert not (task.root / "nginx.pid").exists()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_new_nginx_routes_with_the_seed_before_any_push(backend: int, watcher_decisions: ModuleType) -> None:
    """The watcher's first poll, written before Nginx starts, is what Nginx routes its first request with: the
    live colour, the canary share and allowlist (the nginx service's labels), the peers."""
    root = Path(tempfile.mkdtemp(prefix="partscat-seed-"))
    try:
        files = edge_files_write(root)
        port = free_port()
        (root / "listen").mkdir()
        (root / "listen" / "public.conf").write_text(f"listen 127.0.0.1:{port} default_server;\n")
        seed = watcher_decisions.seed_text("green", f"django-green 127.0.0.1:{backend}\ndjango-blue\n", "30 team-qa")
        (root / "edge-seed.txt").write_text(seed)
        with (root / "error.log").open("w") as log:
            nginx = subprocess.Popen(["nginx", "-c", str(files.conf), "-g", "daemon off;"], stderr=log)
        try:
            _wait(lambda: not port_closed(port), "nginx")
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/mark/")
            assert connection.getresponse().status == 200  # green's peer, from the seed: no push happened
            control = http.client.HTTPConnection("127.0.0.1", files.control_port, timeout=10)
            control.request("GET", "/edge/state")
            state = json.loads(control.getresponse().read())
            assert state["live"] == "green" and state["peers"]["django-green"] == [f"127.0.0.1:{backend}"], state
            assert state["canary"] == {"percent": 30, "allow": ["team-qa"]}, state
            # A reload keeps what was pushed since: the seed is for an empty dictionary only.
            control.request("POST", "/edge/peers", body="django-green\n")
            control.getresponse().read()
            control.close()
            os.kill(nginx.pid, signal.SIGHUP)
            time.sleep(1)
            control = http.client.HTTPConnection("127.0.0.1", files.control_port, timeout=10)
            control.request("GET", "/edge/state")
            assert json.loads(control.getresponse().read())["peers"]["django-green"] == []
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_the_holder_hands_out_a_listening_non_blocking_socket(socket_holder: ModuleType) -> None:
    port = free_port()
    with running_holder(port) as path:
        described, descriptors = socket_holder.handover_receive(str(path))
        try:
            assert described == [{"name": "http", "address": "127.0.0.1", "port": port}]
            # Nginx never sets an inherited socket non-blocking itself (ngx_open_listening_sockets).
            assert os.get_blocking(descriptors[0]) is False
        finally:
            for descriptor in descriptors:
                os.close(descriptor)
        check = _python(HOLDER, "check", env={**os.environ, "EDGE_SOCKET_PATH": str(path)})
        assert check.returncode == 0, check.stderr


@pytest.mark.parametrize(
    "raw", ["", "http", "http=8080", "http=0.0.0.0:99999", "http=0.0.0.0:80,http=0.0.0.0:81", "1x=0.0.0.0:80"]
)
def test_the_holder_refuses_a_malformed_listen_setting(socket_holder: ModuleType, raw: str) -> None:
    with pytest.raises(ValueError, match="EDGE_LISTEN"):
        socket_holder.listeners_parse(raw)
