"""Throwaway PostgreSQL, Redis and app servers on loopback, for the tests and benchmarks.

Everything runs from the checkout: real servers, real ports, nothing mocked.
PostgreSQL refuses to run as root, so as root its commands run as ``postgres``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

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


def pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None)
    if not found:
        raise RuntimeError(f"{name} not found: install postgresql (scripts/test.sh does)")
    return found


# The role layout of the stack (scripts/images/postgres-roles.sql): migrations as the owner, the apps as a
# role that may only read and write rows, the superuser through the socket only.
IMAGES = ROOT / "scripts" / "images"
POSTGRES_ENTRYPOINT = IMAGES / "postgres-entrypoint.sh"
POSTGRES_ROLES_SQL = IMAGES / "postgres-roles.sql"
REDIS_ENTRYPOINT = IMAGES / "redis-entrypoint.sh"
SUPERUSER = "postgres"
OWNER_ROLE = "partscat_owner"
APP_ROLE = "partscat_app"
# The database the entrypoint itself creates; tests make more with Postgres.database_create.
ENTRYPOINT_DATABASE = "catalog"


@dataclass
class Postgres:
    """A cluster run by the stack's own entrypoint (scripts/images/postgres-entrypoint.sh), as the image runs it."""

    base: Path
    port: int
    log: Path
    as_user: list[str]
    env: dict[str, str]
    options: list[str]
    owner_password_file: Path
    app_password_file: Path
    entrypoint: Path = POSTGRES_ENTRYPOINT
    process: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    def superuser_dsn(self, dbname: str = "postgres") -> str:
        """The superuser, through the socket: the only way it may log in."""
        return f"host={self.base} port={self.port} user={SUPERUSER} dbname={dbname}"

    def owner_url(self, dbname: str) -> str:
        """What migrations connect as (MIGRATE_DATABASE_URL)."""
        return f"postgres://{OWNER_ROLE}:{self.owner_password_file.read_text()}@127.0.0.1:{self.port}/{dbname}"

    def app_url(self, dbname: str) -> str:
        """What the apps connect as (DATABASE_URL)."""
        return f"postgres://{APP_ROLE}:{self.app_password_file.read_text()}@127.0.0.1:{self.port}/{dbname}"

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        out = subprocess.run(
            [pg_bin("psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", self.superuser_dsn(dbname), "-c", sql],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    def database_create(self, dbname: str) -> None:
        """A database with the stack's roles and privileges (the SQL the entrypoint applies to its own)."""
        subprocess.run(
            [
                pg_bin("psql"),
                "-X",
                *("-v", f"dbname={dbname}", "-v", f"owner_role={OWNER_ROLE}", "-v", f"app_role={APP_ROLE}"),
                *("-v", f"owner_password_file={self.owner_password_file}"),
                *("-v", f"app_password_file={self.app_password_file}"),
                *("-f", str(POSTGRES_ROLES_SQL), self.superuser_dsn()),
            ],
            check=True,
            capture_output=True,
        )

    def database_drop(self, dbname: str) -> None:
        self.psql(f'DROP DATABASE "{dbname}" WITH (FORCE)')

    def catalog_create(self, dbname: str, *, parts: int = 0, seed: int = 1) -> str:
        """A migrated catalog (as the owner), seeded with ``parts`` parts (as the app); returns the app's URL."""
        self.database_create(dbname)
        manage(self.owner_url(dbname), "migrate", "--no-input", "-v", "0")
        if parts:
            manage(self.app_url(dbname), "seed_parts", "--parts", str(parts), "--seed", str(seed))
        return self.app_url(dbname)

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"postgres exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
        probe = [pg_bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", APP_ROLE]
        return subprocess.run([*probe, "-d", self.env["POSTGRES_DB"]], check=False).returncode == 0

    def start(self) -> None:
        """Run the entrypoint (initdb on the first start, roles and pg_hba.conf on every start, then postgres)."""
        handle = self.log.open("ab")
        command = [*self.as_user, "sh", str(self.entrypoint), *self.options]
        self.process = subprocess.Popen(
            command, env={**os.environ, **self.env}, stdout=handle, stderr=subprocess.STDOUT
        )
        _wait_for(self._ready, "postgres")

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, pg_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
        )
        if self.process is not None:
            self.process.wait(timeout=60)


def start_postgres(
    base: Path, *, dbname: str = ENTRYPOINT_DATABASE, extra_env: dict[str, str] | None = None
) -> Postgres:
    """A UTF-8 cluster (C.UTF-8: Cyrillic case-folding works) started by the stack's entrypoint.

    ``base/data`` may already hold a cluster (the entrypoint then only applies roles and pg_hba.conf).
    """
    base.mkdir(parents=True, exist_ok=True)
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    owner_password_file, app_password_file = base / "owner_password", base / "app_password"
    for path in (owner_password_file, app_password_file):
        path.write_text(secrets.token_hex(16))
        path.chmod(0o644)  # read by the entrypoint, which runs as postgres
    # The entrypoint and its SQL run as postgres, which may not read the checkout (a clone under /root is
    # private): they run from copies in the cluster's own folder, as the image runs them from its own files.
    entrypoint, roles_sql = base / POSTGRES_ENTRYPOINT.name, base / POSTGRES_ROLES_SQL.name
    for source, copy in ((POSTGRES_ENTRYPOINT, entrypoint), (POSTGRES_ROLES_SQL, roles_sql)):
        shutil.copyfile(source, copy)
        copy.chmod(0o644)
    port = free_port()
    bin_dir = Path(os.path.realpath(pg_bin("initdb"))).parent
    env = {
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "PGDATA": str(base / "data"),
        "PGPORT": str(port),
        "POSTGRES_SOCKET_DIR": str(base),
        "POSTGRES_USER": SUPERUSER,
        "POSTGRES_DB": dbname,
        # Tests make a database each; the stack lets the roles reach its one database only.
        "POSTGRES_HBA_DATABASES": "all",
        "POSTGRES_LOCALE": "C.UTF-8",
        "POSTGRES_OWNER_ROLE": OWNER_ROLE,
        "POSTGRES_APP_ROLE": APP_ROLE,
        "POSTGRES_OWNER_PASSWORD_FILE": str(owner_password_file),
        "POSTGRES_APP_PASSWORD_FILE": str(app_password_file),
        "POSTGRES_ROLES_SQL": str(roles_sql),
        **(extra_env or {}),
    }
    # Durability is pointless for a throwaway cluster; speed is not. Loopback only.
    options = [
        *("-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off"),
        *("-c", "full_page_writes=off", "-c", "max_connections=200"),
    ]
    server = Postgres(
        base=base,
        port=port,
        log=base / "postgres.log",
        as_user=as_user,
        env=env,
        options=options,
        owner_password_file=owner_password_file,
        app_password_file=app_password_file,
        entrypoint=entrypoint,
    )
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
    password: str
    password_file: Path

    def url(self, db: int = 0) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/{db}"

    def env(self) -> dict[str, str]:
        """What the Django-image services read to reach it (config/settings/base.py builds Celery's URLs)."""
        return {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(self.port), "REDIS_PASSWORD": self.password}

    def cache_env(self) -> dict[str, str]:
        """What both services read to use it as the search cache (service_common/environment.py), password from a
        file as stack.yml gives it."""
        return {
            "SEARCH_CACHE_REDIS_HOST": "127.0.0.1",
            "SEARCH_CACHE_REDIS_PORT": str(self.port),
            "SEARCH_CACHE_REDIS_PASSWORD_FILE": str(self.password_file),
        }

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def kill(self) -> None:
        """Gone at once, as a crashed or OOM-killed Redis is."""
        self.process.kill()
        self.process.wait(timeout=10)


def redis_command(port: int, *command: bytes) -> bytes:
    """One command without authenticating; the raw reply (``-NOAUTH ...`` when Redis wants a password)."""
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"*%d\r\n" % len(command) + b"".join(b"$%d\r\n%s\r\n" % (len(c), c) for c in command))
        return sock.recv(256)


def _redis_answers(port: int) -> bool:
    try:
        return redis_command(port, b"PING").startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def start_redis(
    base: Path,
    *,
    port: int | None = None,
    password: str | None = None,
    options: tuple[str, ...] = ("--appendonly", "no"),
) -> Redis:
    """A Redis on loopback (a free port unless given), with a password, started by the stack's entrypoint.

    By default memory-only; ``options`` are passed on as the stack passes its ``command`` (they override the
    entrypoint's configuration). Given the port and password of one that was stopped, it comes back as it was.
    """
    port = port or free_port()
    password = password or secrets.token_hex(16)
    password_file = base / f"redis_password_{port}"
    password_file.write_text(password)
    env = {**os.environ, "REDIS_PASSWORD_FILE": str(password_file), "REDIS_DATA_DIR": str(base)}
    command = ["sh", str(REDIS_ENTRYPOINT), "--port", str(port), "--bind", "127.0.0.1", *options]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: _redis_answers(port), "redis")
    return Redis(process=process, port=port, password=password, password_file=password_file)


def stack_service_command(service: str) -> list[str]:
    """The ``command`` that stack.yml gives a service, so a throwaway server runs with the stack's options."""
    stack = yaml.safe_load((ROOT / "stack.yml").read_text(encoding="utf-8"))
    return [str(item) for item in stack["services"][service]["command"]]


def start_cache_redis(base: Path, *, port: int | None = None, password: str | None = None) -> Redis:
    """The search cache's Redis, with stack.yml's redis-cache options (memory only, bounded, LRU eviction)."""
    return start_redis(base, port=port, password=password, options=tuple(stack_service_command("redis-cache")))


@contextlib.contextmanager
def running_redis(base: Path, *, cache: bool = False) -> Iterator[Redis]:
    """A Redis for the length of a fixture: the broker's (memory only, a password), or with ``cache`` the search
    cache's. Each fixture gets a server of its own: a Celery worker's queues, or a cache test's keys, never meet
    another module's (tests/jobs/conftest.py says why the jobs need theirs)."""
    server = start_cache_redis(base) if cache else start_redis(base)
    try:
        yield server
    finally:
        server.stop()


# Production settings need a Redis password; where a test starts no Redis, nothing listens on port 1.
NO_REDIS = {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": "1", "REDIS_PASSWORD": "no-redis-in-this-test"}


def service_env(database_url: str, drain_marker: Path | None = None) -> dict[str, str]:
    return {
        **NO_REDIS,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "tests-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "WEB_CONCURRENCY": "2",
        "ACCESS_LOG": "0",
        "DRAIN_MARKER": str(drain_marker or "/nonexistent/draining"),
        # Price totals from the bands above 300 matching parts (20 000 in the stack): the 3 000-part test
        # catalog then takes both ways (service_common/totals.py).
        "SEARCH_PRICE_BANDS_FROM": "300",
    }


# service -> (working directory, gunicorn config, application), as the images run them.
GUNICORN_APPS = {
    "django": (APP_DIR, "python:config.gunicorn", "config.wsgi:application"),
    "fastapi": (ROOT, "python:fastapi_search.gunicorn", "fastapi_search.main:app"),
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


def manage(database_url: str, *args: str, extra_env: dict[str, str] | None = None) -> str:
    """Run ``python manage.py ARGS`` against ``database_url``; return its stdout."""
    env = {**os.environ, **service_env(database_url), **(extra_env or {})}
    out = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=APP_DIR, env=env, check=False, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise ManageFailed(out.returncode, out.args, out.stdout, out.stderr)
    return out.stdout


class ManageFailed(subprocess.CalledProcessError):
    """A failed manage.py command whose message shows its stderr (a bare CalledProcessError hides it)."""

    def __str__(self) -> str:
        return f"{super().__str__()}\n{(self.stderr or '')[-3000:]}"


@dataclass
class Worker:
    """A Celery worker of the Django project (``celery -A config worker``), in a process group of its own."""

    process: subprocess.Popen[bytes]
    log: Path

    def pool_pids(self) -> list[int]:
        """The pool's processes (children of the main worker process), where tasks run."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM to the main process, as Swarm sends it: Celery's warm shutdown. Returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL to the whole process group (main process, pool, embedded beat): a node lost at once."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def start_worker(
    database_url: str,
    redis: Redis,
    log: Path,
    *,
    beat_schedule: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> Worker:
    """A Celery worker as stack.yml runs it (prefork pool; concurrency from CELERY_WORKER_CONCURRENCY), against
    ``database_url`` and ``redis``; with ``beat_schedule``, beat runs embedded in it (-B) and keeps its schedule
    there. Returns once the worker says it is ready."""
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO"]
    command += ["-n", f"worker-{free_port()}@localhost"]
    if beat_schedule is not None:
        command += ["-B", "-s", str(beat_schedule)]
    env = {**os.environ, **service_env(database_url), **redis.env(), **(extra_env or {})}
    start = log.stat().st_size if log.exists() else 0
    handle = log.open("ab")
    process = subprocess.Popen(
        command, cwd=APP_DIR, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    worker = Worker(process=process, log=log)

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"celery worker exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with log.open("rb") as text:
            text.seek(start)
            return b" ready." in text.read()

    _wait_for(ready, "celery worker")
    return worker
