"""The Nginx process: its configuration test, start, reload after a drain (apply-config) and the Swarm health
check (the heartbeat, and the holder's sockets held by master and workers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

# The socket holder's handover (nginx/socket_holder.py; beside this file in the image and in the checkout).
import socket_holder
from watcher_control import drain_then
from watcher_decisions import Listener, nginx_inherit_variable, socket_holding_problem
from watcher_log import log
from watcher_settings import RUNTIME_DIR, WatcherSettings

# The configuration Nginx runs: a copy of the image's, replaced in place by apply-config.
RUNNING_CONF = os.path.join(RUNTIME_DIR, "nginx.conf")
PID_PATH = os.path.join(RUNTIME_DIR, "nginx.pid")
# The main server's internal live listener, where the health check asks /nginx-healthz.
HEALTH_URL = os.environ.get("NGINX_HEALTH_URL", "http://127.0.0.1:8082/nginx-healthz")


def nginx_config_test(path: str) -> tuple[bool, str]:
    result = subprocess.run(
        ["nginx", "-t", "-q", "-e", "stderr", "-c", path], capture_output=True, text=True, check=False
    )
    return result.returncode == 0, (result.stderr or result.stdout).strip()


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
