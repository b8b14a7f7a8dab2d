"""Run Nginx and keep its upstreams equal to the healthy Swarm tasks behind each app service.

Every POLL_SECONDS the watcher
  1. resolves `tasks.<service>` (Swarm DNS lists one address per task; dnsrr endpoint mode),
  2. probes each address's health URL (a task answers 503 while it drains, see scripts/images/app-entrypoint.sh),
  3. when the set of healthy addresses changed, renders upstreams.conf from the template, runs `nginx -t`
     and reloads Nginx gracefully (SIGHUP to the master); a config that fails `nginx -t` is thrown away
     and the last good one stays.
A service with no healthy task gets a placeholder server that answers 503 JSON, so Nginx always starts.

A task enters rotation only after its health URL answered 2xx, so DNS listing a task before it is ready
does no harm; it leaves rotation as soon as DNS drops it, its health URL answers non-2xx, its port refuses,
or (to ride out a busy moment) after TIMEOUTS_TO_DROP health probes in a row time out.

Configuration (environment):
  UPSTREAM_SERVICES  name=dns-name:port[,...]   default django=tasks.django:8000,fastapi=tasks.fastapi:8001
  HEALTH_PATH (/healthz), HEALTH_HOST (localhost), POLL_SECONDS (1), PROBE_TIMEOUT_SECONDS (2),
  TIMEOUTS_TO_DROP (3), UPSTREAM_KEEPALIVE_TIMEOUT (60s), NGINX_STOP_SECONDS (25)
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

NGINX_CONF = os.environ.get("NGINX_CONF", "/etc/nginx/nginx.conf")
TEMPLATE_PATH = os.environ.get("UPSTREAMS_TEMPLATE", "/etc/nginx/upstreams.conf.tmpl")
RUNTIME_DIR = os.environ.get("NGINX_RUNTIME_DIR", "/tmp/nginx")
UPSTREAMS_PATH = os.path.join(RUNTIME_DIR, "upstreams.conf")
STATE_PATH = os.path.join(RUNTIME_DIR, "upstreams.json")
# nginx.conf's local server that answers 503 JSON for a service without healthy tasks.
PLACEHOLDER_SERVER = "127.0.0.1:8090"
CONNECT_TIMEOUT_SECONDS = 1.0


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, str(default))
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"upstream_watcher: {name} must be a number, got {raw!r}") from None


@dataclass(frozen=True)
class WatcherSettings:
    services: dict[str, tuple[str, int]]
    health_path: str
    health_host: str
    poll_seconds: float
    probe_timeout_seconds: float
    timeouts_to_drop: int
    keepalive_timeout: str
    nginx_stop_seconds: float


def settings_load() -> WatcherSettings:
    raw = os.environ.get("UPSTREAM_SERVICES", "django=tasks.django:8000,fastapi=tasks.fastapi:8001")
    services: dict[str, tuple[str, int]] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        try:
            name, target = item.split("=", 1)
            host, port = target.rsplit(":", 1)
            services[name] = (host, int(port))
        except ValueError:
            raise SystemExit(f"upstream_watcher: bad UPSTREAM_SERVICES item {item!r} (want name=host:port)") from None
    if set(services) != {"django", "fastapi"}:
        raise SystemExit("upstream_watcher: UPSTREAM_SERVICES must name exactly django and fastapi (the template's)")
    return WatcherSettings(
        services=services,
        health_path=os.environ.get("HEALTH_PATH", "/healthz"),
        health_host=os.environ.get("HEALTH_HOST", "localhost"),
        poll_seconds=_env_float("POLL_SECONDS", 1.0),
        probe_timeout_seconds=_env_float("PROBE_TIMEOUT_SECONDS", 2.0),
        timeouts_to_drop=int(_env_float("TIMEOUTS_TO_DROP", 3)),
        keepalive_timeout=os.environ.get("UPSTREAM_KEEPALIVE_TIMEOUT", "60s"),
        nginx_stop_seconds=_env_float("NGINX_STOP_SECONDS", 25.0),
    )


def log(message: str) -> None:
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
    print(f"{now} upstream_watcher: {message}", file=sys.stderr, flush=True)


def task_addresses_resolve(host: str) -> set[str] | None:
    """Task IPs behind a DNS name; empty when the name does not exist (no task), None when DNS failed."""
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror as error:
        if error.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
            return set()
        return None
    return {str(info[4][0]) for info in infos}


def task_health_probe(*, address: str, port: int, settings: WatcherSettings) -> str:
    """One of: healthy, unhealthy (non-2xx, e.g. 503 while draining), down (refused/unreachable), timeout.

    Connecting is the kernel's job and instant for a live task however busy it is, so a failed or slow
    connect means the task is gone (a killed task's address stops answering ARP): "down" at once.
    Only a slow answer counts as "timeout", which a busy task may produce now and then.
    """
    connection = http.client.HTTPConnection(address, port, timeout=settings.probe_timeout_seconds)
    try:
        connection.sock = socket.create_connection((address, port), timeout=CONNECT_TIMEOUT_SECONDS)
        connection.sock.settimeout(settings.probe_timeout_seconds)
    except OSError:
        connection.close()
        return "down"
    try:
        connection.request("GET", settings.health_path, headers={"Host": settings.health_host})
        status = connection.getresponse().status
    except TimeoutError:
        return "timeout"
    except (OSError, http.client.HTTPException):
        return "down"
    finally:
        connection.close()
    return "healthy" if 200 <= status < 300 else "unhealthy"


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

    def servers(self) -> list[str]:
        return sorted(
            (f"{address}:{self.port}" for address, task in self.tasks.items() if task.in_rotation),
            key=lambda server: tuple(int(octet) for octet in server.split(":")[0].split(".")),
        )


def service_state_update(
    *, state: ServiceState, settings: WatcherSettings, executor: ThreadPoolExecutor, name: str
) -> None:
    addresses = task_addresses_resolve(state.dns_name)
    if addresses is None:
        log(f"{name}: DNS lookup of {state.dns_name} failed; keeping the current upstreams")
        return
    for gone in set(state.tasks) - addresses:
        if state.tasks[gone].in_rotation:
            log(f"{name}: {gone}:{state.port} left DNS; out of rotation")
        del state.tasks[gone]
    futures = {
        address: executor.submit(task_health_probe, address=address, port=state.port, settings=settings)
        for address in addresses
    }
    for address, future in futures.items():
        task = state.tasks.setdefault(address, TaskState())
        result = future.result()
        was_in_rotation = task.in_rotation
        if result == "healthy":
            task.in_rotation, task.timeouts_in_a_row = True, 0
        elif result == "timeout":
            task.timeouts_in_a_row += 1
            if task.timeouts_in_a_row >= settings.timeouts_to_drop:
                task.in_rotation = False
        else:
            task.in_rotation, task.timeouts_in_a_row = False, 0
        if task.in_rotation != was_in_rotation:
            verb = "into rotation" if task.in_rotation else "out of rotation"
            log(f"{name}: {address}:{state.port} {verb} (probe: {result})")
        task.last_probe = result


def upstreams_render(*, states: dict[str, ServiceState], template: str, settings: WatcherSettings) -> str:
    blocks: dict[str, str] = {}
    for name, state in states.items():
        servers = state.servers()
        if servers:
            # max_fails=1: one connection error takes a task out for fail_timeout, until the watcher catches up.
            lines = [f"    server {server} max_fails=1 fail_timeout=5s;" for server in servers]
        else:
            lines = [f"    server {PLACEHOLDER_SERVER};  # no healthy {name} task: 503 JSON placeholder"]
        blocks[f"{name}_servers"] = "\n".join(lines)
    return template.format(rendered_at="{rendered_at}", keepalive_timeout=settings.keepalive_timeout, **blocks)


def nginx_config_test() -> tuple[bool, str]:
    result = subprocess.run(
        ["nginx", "-t", "-q", "-e", "stderr", "-c", NGINX_CONF], capture_output=True, text=True, check=False
    )
    return result.returncode == 0, (result.stderr or result.stdout).strip()


def upstreams_write(body: str) -> None:
    stamped = body.replace("{rendered_at}", datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"))
    temporary = UPSTREAMS_PATH + ".new"
    with open(temporary, "w", encoding="utf-8") as upstreams_file:
        upstreams_file.write(stamped)
    os.replace(temporary, UPSTREAMS_PATH)


def upstreams_apply(*, body: str, last_good: str | None) -> bool:
    """Write the new upstreams and keep them only if `nginx -t` accepts them."""
    upstreams_write(body)
    valid, output = nginx_config_test()
    if valid:
        return True
    log(f"nginx -t rejected the new upstreams; keeping the last good ones: {output}")
    if last_good is not None:
        upstreams_write(last_good)
    return False


def state_write(states: dict[str, ServiceState]) -> None:
    snapshot = {
        name: {
            "dns_name": state.dns_name,
            "in_rotation": state.servers(),
            "tasks": {address: task.last_probe for address, task in sorted(state.tasks.items())},
        }
        for name, state in states.items()
    }
    temporary = STATE_PATH + ".new"
    with open(temporary, "w", encoding="utf-8") as state_file:
        json.dump(snapshot, state_file, indent=2, sort_keys=True)
    os.replace(temporary, STATE_PATH)


def main() -> int:
    settings = settings_load()
    os.makedirs(RUNTIME_DIR, exist_ok=True)
    with open(TEMPLATE_PATH, encoding="utf-8") as template_file:
        template = template_file.read()
    states = {name: ServiceState(dns_name=host, port=port) for name, (host, port) in settings.services.items()}
    executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="probe")

    for name, state in states.items():
        service_state_update(state=state, settings=settings, executor=executor, name=name)
    current = upstreams_render(states=states, template=template, settings=settings)
    if not upstreams_apply(body=current, last_good=None):
        return 1
    state_write(states)

    nginx = subprocess.Popen(["nginx", "-e", "stderr", "-c", NGINX_CONF, "-g", "daemon off;"])
    log(f"nginx started (pid {nginx.pid}); watching {', '.join(s.dns_name for s in states.values())}")

    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log(f"signal {signal.Signals(signum).name}: stopping nginx gracefully")
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    while not stop.is_set():
        if nginx.poll() is not None:
            log(f"nginx exited with status {nginx.returncode}")
            return nginx.returncode or 1
        for name, state in states.items():
            service_state_update(state=state, settings=settings, executor=executor, name=name)
        rendered = upstreams_render(states=states, template=template, settings=settings)
        if rendered != current and upstreams_apply(body=rendered, last_good=current):
            current = rendered
            # SIGHUP = `nginx -s reload`: new workers take the new upstreams, old ones finish their requests.
            nginx.send_signal(signal.SIGHUP)
            log(
                "upstreams changed: nginx reloaded; "
                + "; ".join(
                    f"{name}={','.join(state.servers()) or 'none (503 placeholder)'}" for name, state in states.items()
                )
            )
        state_write(states)
        stop.wait(settings.poll_seconds)

    # SIGQUIT = graceful shutdown: Nginx stops accepting, finishes open requests, then exits.
    nginx.send_signal(signal.SIGQUIT)
    try:
        nginx.wait(timeout=settings.nginx_stop_seconds)
    except subprocess.TimeoutExpired:
        log("nginx did not stop in time; terminating it")
        nginx.terminate()
        nginx.wait()
    executor.shutdown(wait=False, cancel_futures=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
