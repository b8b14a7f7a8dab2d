"""Throwaway PostgreSQL, Redis and app servers on loopback, for the tests and benchmarks.

Everything runs from the checkout: real servers, real ports, nothing mocked.
PostgreSQL refuses to run as root, so as root its commands run as ``postgres``.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_DIR = ROOT / "app"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not become ready within {timeout:.0f}s")


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None)
    if not found:
        raise RuntimeError(f"{name} not found: install postgresql (scripts/test.sh does)")
    return found


@dataclass
class Postgres:
    data_dir: Path
    port: int
    log: Path
    as_user: list[str]
    options: str

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        out = subprocess.run(
            [_pg_bin("psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", self.url(dbname), "-c", sql],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    def start(self) -> None:
        pg_ctl = [*self.as_user, _pg_bin("pg_ctl"), "-D", str(self.data_dir)]
        subprocess.run(
            [*pg_ctl, "-o", self.options, "-l", str(self.log), "-w", "start"],
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, _pg_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
        )


def start_postgres(base: Path) -> Postgres:
    """initdb a UTF-8 cluster (C.UTF-8: Cyrillic case-folding works) and start it."""
    base.mkdir(parents=True, exist_ok=True)
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data_dir, log, port = base / "data", base / "postgres.log", free_port()
    subprocess.run(
        [
            *as_user,
            _pg_bin("initdb"),
            "-D",
            str(data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        capture_output=True,
    )
    # Durability is pointless for a throwaway cluster; speed is not.
    options = (
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    server = Postgres(data_dir=data_dir, port=port, log=log, as_user=as_user, options=options)
    server.start()
    return server


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own http URL)
            return bool(response.status == 200)
    except OSError:
        return False


def start_server(name: str, command: list[str], *, env: dict[str, str], cwd: Path, log: Path, port: int) -> Server:
    handle = log.open("wb")
    process = subprocess.Popen(command, cwd=cwd, env={**os.environ, **env}, stdout=handle, stderr=subprocess.STDOUT)
    server = Server(name=name, process=process, base_url=f"http://127.0.0.1:{port}", log=log)

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}; see {log}:\n{log.read_text()[-3000:]}")
        return _healthy(f"{server.base_url}/healthz")

    _wait_for(ready, name)
    return server


@dataclass
class Redis:
    process: subprocess.Popen[bytes]
    port: int

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(base: Path) -> Redis:
    """A memory-only Redis on a free loopback port."""
    port = free_port()
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    command = [
        server,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(base),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: _redis_answers(port), "redis")
    return Redis(process=process, port=port)


def service_env(database_url: str, drain_marker: Path | None = None) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "tests-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONPATH": str(ROOT),
        "WEB_CONCURRENCY": "2",
        "ACCESS_LOG": "0",
        "DRAIN_MARKER": str(drain_marker or "/nonexistent/draining"),
    }


# service -> (working directory, gunicorn config, application), as the images run them.
GUNICORN_APPS = {
    "django": (APP_DIR, "config/gunicorn.py", "config.wsgi:application"),
    "fastapi": (ROOT, "fastapi_search/gunicorn_conf.py", "fastapi_search.main:app"),
}


def start_app(
    name: str,
    database_url: str,
    log_dir: Path,
    drain_marker: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> Server:
    """One of the two services under its production gunicorn config, on a free loopback port."""
    cwd, config, application = GUNICORN_APPS[name]
    port = free_port()
    command = [str(BIN / "gunicorn"), "-c", config, "--bind", f"127.0.0.1:{port}", application]
    env = {**service_env(database_url, drain_marker), **(extra_env or {})}
    return start_server(name, command, env=env, cwd=cwd, log=log_dir / f"{name}.log", port=port)


def manage(database_url: str, *args: str) -> str:
    """Run ``python manage.py ARGS`` against ``database_url``; return its stdout."""
    env = {**os.environ, **service_env(database_url)}
    out = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=APP_DIR, env=env, check=True, capture_output=True, text=True
    )
    return out.stdout
