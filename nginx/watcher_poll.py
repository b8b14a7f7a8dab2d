"""One poll: resolve each service's tasks, probe their health URLs, decide the rotation, push the peers and
record them in the state file."""

from __future__ import annotations

import http.client
import json
import os
import socket
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from watcher_control import control_request
from watcher_decisions import (
    DOWN,
    HEALTHY,
    TIMEOUT,
    UNHEALTHY,
    ServiceState,
    peers_body,
    rotation_update,
    state_snapshot,
)
from watcher_log import log
from watcher_settings import RUNTIME_DIR, WatcherSettings

STATE_PATH = os.path.join(RUNTIME_DIR, "upstreams.json")
CONNECT_TIMEOUT_SECONDS = 1.0


def task_addresses_resolve(host: str) -> set[str] | None:
    """Task IPs behind a DNS name; empty when the name does not exist (no task), None when DNS failed."""
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror as error:
        if error.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
            return set()
        return None
    return {str(info[4][0]) for info in infos}


def task_health_probe(*, address: str, port: int, path: str, host: str, timeout: float) -> str:
    """One of: healthy, unhealthy (non-2xx, e.g. 503 while draining), down (refused/unreachable), timeout.

    Connecting is the kernel's job and instant for a live task however busy it is, so a failed or slow
    connect means the task is gone (a killed task's address stops answering ARP): "down" at once.
    Only a slow answer counts as "timeout", which a busy task may produce now and then.
    """
    connection = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        connection.sock = socket.create_connection((address, port), timeout=CONNECT_TIMEOUT_SECONDS)
        connection.sock.settimeout(timeout)
    except OSError:
        connection.close()
        return DOWN
    try:
        connection.request("GET", path, headers={"Host": host})
        status = connection.getresponse().status
    except TimeoutError:
        return TIMEOUT
    except (OSError, http.client.HTTPException):
        return DOWN
    finally:
        connection.close()
    return HEALTHY if 200 <= status < 300 else UNHEALTHY


def state_write(states: Mapping[str, ServiceState]) -> None:
    temporary = STATE_PATH + ".new"
    with open(temporary, "w", encoding="utf-8") as state_file:
        json.dump(state_snapshot(states), state_file, indent=2, sort_keys=True)
    os.replace(temporary, STATE_PATH)


@dataclass
class Watcher:
    """One poll: resolve, probe, decide, push. Its I/O is injectable so tests can drive it without Docker."""

    settings: WatcherSettings
    resolve: Callable[[str], set[str] | None] = task_addresses_resolve
    probe: Callable[..., str] = task_health_probe
    push: Callable[[str], object] = lambda body: control_request("POST", "/edge/peers", body)
    write_state: Callable[[Mapping[str, ServiceState]], None] = state_write
    states: dict[str, ServiceState] = field(init=False)
    _executor: ThreadPoolExecutor = field(init=False)
    # What the state file holds, so it is rewritten only when something changed (polls run every second).
    _written: dict[str, object] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.states = {name: ServiceState(host, port) for name, (host, port) in self.settings.services.items()}
        self._executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="probe")

    def _probe_all(self, state: ServiceState, addresses: set[str]) -> dict[str, str]:
        futures = {
            address: self._executor.submit(
                self.probe,
                address=address,
                port=state.port,
                path=self.settings.health_path,
                host=self.settings.health_host,
                timeout=self.settings.probe_timeout_seconds,
            )
            for address in addresses
        }
        return {address: future.result() for address, future in futures.items()}

    def poll(self) -> None:
        for name, state in self.states.items():
            addresses = self.resolve(state.dns_name)
            probes = self._probe_all(state, addresses) if addresses else {}
            for change in rotation_update(
                name=name,
                state=state,
                addresses=addresses,
                probes=probes,
                timeouts_to_drop=self.settings.timeouts_to_drop,
            ):
                log(change)
        self.push(peers_body(self.states))
        snapshot = state_snapshot(self.states)
        if snapshot == self._written:
            return
        try:
            self.write_state(self.states)
        except OSError as error:
            # The state file is for operators; Nginx already has the peers. The next poll tries again.
            log(f"could not write {STATE_PATH}: {error}")
        else:
            self._written = snapshot

    def poll_guarded(self) -> bool:
        """poll(), but a failure of any kind is logged and reported as False instead of ending the watcher."""
        try:
            self.poll()
        except Exception as error:  # the loop must outlive any one poll, whatever went wrong
            log(f"poll failed: {type(error).__name__}: {error}")
            return False
        return True

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
