"""nginx/upstream_watcher.py's remaining decisions, imported and called directly (test_upstream_watcher.py has
the rotation rules and settings): how one health probe is classified against real loopback servers, what a DNS
answer or failure means, what one poll probes, the state file's shape, the CLI's exit codes and its requests
to the control server, draining before an action, and which Nginx workers still accept connections."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.loopback_http import refused_port, scripted_server, silent_port

ANSWERS = {"/healthz": (200, b"ok"), "/empty": (204, b""), "/draining": (503, b"draining"), "/moved": (301, b"")}


def _probe(watcher: ModuleType, port: int, path: str = "/healthz", timeout: float = 1.0) -> str:
    result: str = watcher.task_health_probe(
        address="127.0.0.1", port=port, path=path, host="localhost", timeout=timeout
    )
    return result


# --- task_health_probe: healthy, unhealthy, down or timeout ---


@pytest.mark.parametrize(
    ("path", "expected"), [("/healthz", "healthy"), ("/empty", "healthy"), ("/draining", "unhealthy")]
)
def test_a_2xx_is_healthy_and_any_other_answer_unhealthy(watcher: ModuleType, path: str, expected: str) -> None:
    with scripted_server(ANSWERS) as server:
        assert _probe(watcher, server.port, path) == expected


def test_a_redirect_is_not_followed_and_counts_as_unhealthy(watcher: ModuleType) -> None:
    with scripted_server(ANSWERS) as server:
        assert _probe(watcher, server.port, "/moved") == "unhealthy"
    assert [request.path for request in server.received] == ["/moved"]


def test_the_probe_asks_the_health_path_with_the_health_host(watcher: ModuleType) -> None:
    with scripted_server(ANSWERS) as server:
        _probe(watcher, server.port, "/healthz")
    (request,) = server.received
    assert (request.method, request.path, request.headers["host"]) == ("GET", "/healthz", "localhost")


def test_a_refused_port_is_down_at_once(watcher: ModuleType) -> None:
    started = time.monotonic()
    assert _probe(watcher, refused_port(), timeout=5) == "down"
    assert time.monotonic() - started < 1


def test_an_accepted_connection_without_an_answer_is_a_timeout_not_down(watcher: ModuleType) -> None:
    # A busy task: the kernel accepts, the app answers late. Only this counts towards TIMEOUTS_TO_DROP.
    with silent_port() as port:
        started = time.monotonic()
        assert _probe(watcher, port, timeout=0.3) == "timeout"
        assert time.monotonic() - started < 2


def test_a_connection_closed_without_an_answer_is_down(watcher: ModuleType) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]

        def hang_up() -> None:
            connection, _address = listener.accept()
            connection.recv(4096)
            connection.close()

        thread = threading.Thread(target=hang_up, daemon=True)
        thread.start()
        assert _probe(watcher, port, timeout=2) == "down"
        thread.join(timeout=2)


# --- task_addresses_resolve: DNS answers and failures ---


def _gaierror(monkeypatch: pytest.MonkeyPatch, errno: int) -> None:
    def fail(*_args: object, **_kwargs: object) -> Any:
        raise socket.gaierror(errno, "test")

    monkeypatch.setattr(socket, "getaddrinfo", fail)


def test_a_name_that_does_not_exist_means_no_task(watcher: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    # Swarm DNS has no tasks.<service> name while the service has no task: an empty set, so its peers go.
    _gaierror(monkeypatch, socket.EAI_NONAME)
    assert watcher.task_addresses_resolve("tasks.django-green") == set()


@pytest.mark.parametrize("errno", [socket.EAI_AGAIN, socket.EAI_FAIL])
def test_a_failing_dns_means_unknown(watcher: ModuleType, monkeypatch: pytest.MonkeyPatch, errno: int) -> None:
    # None: rotation_update keeps the current peers rather than emptying them on a resolver hiccup.
    _gaierror(monkeypatch, errno)
    assert watcher.task_addresses_resolve("tasks.django-blue") is None


def test_every_task_address_is_returned_once(watcher: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    def answer(*_args: object, **_kwargs: object) -> list[Any]:
        stream = (socket.AF_INET, socket.SOCK_STREAM, 6, "")
        return [(*stream, ("10.0.1.7", 0)), (*stream, ("10.0.1.3", 0)), (*stream, ("10.0.1.7", 0))]

    monkeypatch.setattr(socket, "getaddrinfo", answer)
    assert watcher.task_addresses_resolve("tasks.fastapi-blue") == {"10.0.1.3", "10.0.1.7"}


def test_real_loopback_names_resolve(watcher: ModuleType) -> None:
    assert watcher.task_addresses_resolve("127.0.0.7") == {"127.0.0.7"}
    assert "127.0.0.1" in watcher.task_addresses_resolve("localhost")


# --- one poll: what it probes and what it records ---


def test_a_poll_probes_every_listed_task_with_the_settings(watcher: ModuleType) -> None:
    settings = watcher.settings_load(
        {
            "UPSTREAM_SERVICES": "django-blue=tasks.django-blue:8000,fastapi-blue=tasks.fastapi-blue:8001",
            "HEALTH_PATH": "/livez",
            "HEALTH_HOST": "probe.local",
            "PROBE_TIMEOUT_SECONDS": "0.7",
        }
    )
    calls: list[dict[str, object]] = []

    def probe(**kwargs: object) -> str:
        calls.append(kwargs)
        return "healthy"

    answers = {"tasks.django-blue": {"10.0.0.5", "10.0.0.6"}, "tasks.fastapi-blue": set()}
    pushed: list[str] = []
    loop = watcher.Watcher(
        settings, resolve=answers.get, probe=probe, push=pushed.append, write_state=lambda _states: None
    )
    try:
        assert loop.poll_guarded()
    finally:
        loop.close()
    # No task behind fastapi-blue: nothing is probed for it, and it has no peers.
    assert sorted(calls, key=lambda call: str(call["address"])) == [
        {"address": address, "port": 8000, "path": "/livez", "host": "probe.local", "timeout": 0.7}
        for address in ("10.0.0.5", "10.0.0.6")
    ]
    assert pushed == ["django-blue 10.0.0.5:8000 10.0.0.6:8000\nfastapi-blue \n"]


def test_a_dns_failure_probes_nothing_and_keeps_the_peers(watcher: ModuleType) -> None:
    settings = watcher.settings_load({"UPSTREAM_SERVICES": "django=tasks.django:8000"})
    answers: list[set[str] | None] = [{"10.0.0.5"}, None]
    probed: list[object] = []

    def probe(**kwargs: object) -> str:
        probed.append(kwargs["address"])
        return "healthy"

    pushed: list[str] = []
    loop = watcher.Watcher(
        settings, resolve=lambda _host: answers.pop(0), probe=probe, push=pushed.append, write_state=lambda _s: None
    )
    try:
        assert loop.poll_guarded()
        assert loop.poll_guarded()
    finally:
        loop.close()
    assert probed == ["10.0.0.5"]
    assert pushed == ["django 10.0.0.5:8000\n", "django 10.0.0.5:8000\n"]


def test_timeouts_to_drop_is_at_least_one(watcher: ModuleType) -> None:
    assert watcher.settings_load({"TIMEOUTS_TO_DROP": "0"}).timeouts_to_drop == 1
    state = watcher.ServiceState("tasks.django", 8000)
    watcher.rotation_update(
        name="django", state=state, addresses={"10.0.0.5"}, probes={"10.0.0.5": "healthy"}, timeouts_to_drop=1
    )
    watcher.rotation_update(
        name="django", state=state, addresses={"10.0.0.5"}, probes={"10.0.0.5": "timeout"}, timeouts_to_drop=1
    )
    assert state.peers() == []


def test_a_new_task_that_times_out_never_enters_and_a_missing_probe_counts_as_down(watcher: ModuleType) -> None:
    state = watcher.ServiceState("tasks.django", 8000)
    for _ in range(5):
        watcher.rotation_update(
            name="django", state=state, addresses={"10.0.0.5"}, probes={"10.0.0.5": "timeout"}, timeouts_to_drop=3
        )
    assert state.peers() == []
    watcher.rotation_update(
        name="django", state=state, addresses={"10.0.0.5"}, probes={"10.0.0.5": "healthy"}, timeouts_to_drop=3
    )
    changes = watcher.rotation_update(name="django", state=state, addresses={"10.0.0.5"}, probes={}, timeouts_to_drop=3)
    assert state.peers() == []
    assert changes == ["django: 10.0.0.5:8000 out of rotation (probe: down)"]


def test_the_state_snapshot_lists_peers_and_each_tasks_last_probe(watcher: ModuleType) -> None:
    state = watcher.ServiceState("tasks.django-blue", 8000)
    watcher.rotation_update(
        name="django-blue",
        state=state,
        addresses={"10.0.0.5", "10.0.0.6"},
        probes={"10.0.0.5": "healthy", "10.0.0.6": "unhealthy"},
        timeouts_to_drop=3,
    )
    assert watcher.state_snapshot({"django-blue": state}) == {
        "django-blue": {
            "dns_name": "tasks.django-blue",
            "in_rotation": ["10.0.0.5:8000"],
            "tasks": {"10.0.0.5": "healthy", "10.0.0.6": "unhealthy"},
        }
    }


# --- the CLI and the control server ---


@pytest.fixture
def control(watcher: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A stand-in for nginx.conf's control server: POST /edge/live refuses green (no peers), the rest answer 200."""
    answers = {"/edge/live": (200, b"live blue\n"), "/edge/drain": (200, b"draining\n")}
    with scripted_server(answers) as server:
        monkeypatch.setattr(watcher, "CONTROL_ADDRESS", ("127.0.0.1", server.port))
        yield server


def test_live_switch_asks_nginx_to_refuse_a_colour_without_peers(watcher: ModuleType, control: Any) -> None:
    assert watcher.main(["upstream_watcher.py", "live", "green"]) == 0
    (request,) = control.received
    assert (request.method, request.path, request.body) == ("POST", "/edge/live?require_peers=1", b"green")


def test_a_refused_switch_exits_1_with_nginxs_reason(
    watcher: ModuleType, control: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    control.answers["/edge/live"] = (409, b"green has no django peer\n")
    assert watcher.main(["upstream_watcher.py", "live", "green"]) == 1
    assert "answered 409: green has no django peer" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["live", "purple"], ["live"], ["reload"], ["state", "extra"]])
def test_an_unknown_command_is_a_usage_error(
    watcher: ModuleType, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert watcher.main(["upstream_watcher.py", *argv]) == 64
    assert "usage: upstream_watcher.py" in capsys.readouterr().err


def test_bad_settings_stop_the_cli_before_anything_runs(
    watcher: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIVE_COLOUR", "purple")
    assert watcher.main(["upstream_watcher.py"]) == 64
    assert "LIVE_COLOUR must be one of blue, green" in capsys.readouterr().err


class _Clock:
    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def test_drain_asks_nginx_waits_then_acts(watcher: ModuleType, control: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(watcher, "time", clock)
    acted: list[int] = []
    watcher.drain_then(lambda: acted.append(len(control.received)), 2.5)
    assert [request.path for request in control.received] == ["/edge/drain"]
    assert clock.slept == [2.5]
    assert acted == [1]  # after the drain request


def test_without_a_control_server_the_action_still_runs_at_once(
    watcher: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = _Clock()
    monkeypatch.setattr(watcher, "time", clock)
    monkeypatch.setattr(watcher, "CONTROL_ADDRESS", ("127.0.0.1", refused_port()))
    acted: list[bool] = []
    watcher.drain_then(lambda: acted.append(True), 2.5)
    assert acted == [True]
    assert clock.slept == []
    assert "drain request failed" in capsys.readouterr().err


# --- which Nginx workers still accept (the reload waits until none of the old ones does) ---


def _titled_child(title: str) -> subprocess.Popen[bytes]:
    """A child of this process whose command line reads like an Nginx worker's title."""
    child = subprocess.Popen(["bash", "-c", f'exec -a "{title}" sleep 30'])
    deadline = time.monotonic() + 5
    while title.encode() not in Path(f"/proc/{child.pid}/cmdline").read_bytes():
        assert time.monotonic() < deadline, "the child never took its title"
        time.sleep(0.01)
    return child


def test_accepting_workers_are_the_masters_children_not_shutting_down(watcher: ModuleType) -> None:
    children = [
        _titled_child("nginx: worker process"),
        _titled_child("nginx: worker process is shutting down"),
        _titled_child("nginx: cache manager process"),
    ]
    try:
        accepting = watcher.nginx_accepting_workers(os.getpid())
        assert accepting == {children[0].pid}
        # Another master's workers are not ours.
        assert children[0].pid not in watcher.nginx_accepting_workers(children[1].pid)
    finally:
        for child in children:
            child.kill()
            child.wait()
