"""nginx/watcher_poll.py: one health probe classified against real loopback servers (healthy, unhealthy, down,
timeout), what a DNS answer or failure means, and one poll: what it probes and pushes, a poll that fails for any
reason is logged and the next goes on, and the state file written only when it changed."""

from __future__ import annotations

import socket
import threading
import time
from types import ModuleType
from typing import Any

import pytest

from tests.loopback_http import refused_port, scripted_server, silent_port
from tests.nginx.edge_server import nginx_module

ANSWERS = {"/healthz": (200, b"ok"), "/empty": (204, b""), "/draining": (503, b"draining"), "/moved": (301, b"")}


def _settings(environ: dict[str, str]) -> Any:
    return nginx_module("watcher_settings").settings_load(environ)


def _probe(watcher_poll: ModuleType, port: int, path: str = "/healthz", timeout: float = 1.0) -> str:
    result: str = watcher_poll.task_health_probe(
        address="127.0.0.1", port=port, path=path, host="localhost", timeout=timeout
    )
    return result


@pytest.mark.parametrize(
    ("path", "expected"), [("/healthz", "healthy"), ("/empty", "healthy"), ("/draining", "unhealthy")]
)
def test_a_2xx_is_healthy_and_any_other_answer_unhealthy(watcher_poll: ModuleType, path: str, expected: str) -> None:
    with scripted_server(ANSWERS) as server:
        assert _probe(watcher_poll, server.port, path) == expected


def test_a_redirect_is_not_followed_and_counts_as_unhealthy(watcher_poll: ModuleType) -> None:
    with scripted_server(ANSWERS) as server:
        assert _probe(watcher_poll, server.port, "/moved") == "unhealthy"
    assert [request.path for request in server.received] == ["/moved"]


def test_the_probe_asks_the_health_path_with_the_health_host(watcher_poll: ModuleType) -> None:
    with scripted_server(ANSWERS) as server:
        _probe(watcher_poll, server.port, "/healthz")
    (request,) = server.received
    assert (request.method, request.path, request.headers["host"]) == ("GET", "/healthz", "localhost")


def test_a_refused_port_is_down_at_once(watcher_poll: ModuleType) -> None:
    started = time.monotonic()
    assert _probe(watcher_poll, refused_port(), timeout=5) == "down"
    assert time.monotonic() - started < 1


def test_an_accepted_connection_without_an_answer_is_a_timeout_not_down(watcher_poll: ModuleType) -> None:
    # A busy task: the kernel accepts, the app answers late. Only this counts towards TIMEOUTS_TO_DROP.
    with silent_port() as port:
        started = time.monotonic()
        assert _probe(watcher_poll, port, timeout=0.3) == "timeout"
        assert time.monotonic() - started < 2


def test_a_connection_closed_without_an_answer_is_down(watcher_poll: ModuleType) -> None:
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
        assert _probe(watcher_poll, port, timeout=2) == "down"
        thread.join(timeout=2)


def _gaierror(monkeypatch: pytest.MonkeyPatch, errno: int) -> None:
    def fail(*_args: object, **_kwargs: object) -> Any:
        raise socket.gaierror(errno, "test")

    monkeypatch.setattr(socket, "getaddrinfo", fail)


def test_a_name_that_does_not_exist_means_no_task(watcher_poll: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    # Swarm DNS has no tasks.<service> name while the service has no task: an empty set, so its peers go.
    _gaierror(monkeypatch, socket.EAI_NONAME)
    assert watcher_poll.task_addresses_resolve("tasks.django-green") == set()


@pytest.mark.parametrize("errno", [socket.EAI_AGAIN, socket.EAI_FAIL])
def test_a_failing_dns_means_unknown(watcher_poll: ModuleType, monkeypatch: pytest.MonkeyPatch, errno: int) -> None:
    # None: rotation_update keeps the current peers rather than emptying them on a resolver hiccup.
    _gaierror(monkeypatch, errno)
    assert watcher_poll.task_addresses_resolve("tasks.django-blue") is None


def test_every_task_address_is_returned_once(watcher_poll: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    def answer(*_args: object, **_kwargs: object) -> list[Any]:
        stream = (socket.AF_INET, socket.SOCK_STREAM, 6, "")
        return [(*stream, ("10.0.1.7", 0)), (*stream, ("10.0.1.3", 0)), (*stream, ("10.0.1.7", 0))]

    monkeypatch.setattr(socket, "getaddrinfo", answer)
    assert watcher_poll.task_addresses_resolve("tasks.fastapi-blue") == {"10.0.1.3", "10.0.1.7"}


def test_real_loopback_names_resolve(watcher_poll: ModuleType) -> None:
    assert watcher_poll.task_addresses_resolve("127.0.0.7") == {"127.0.0.7"}
    assert "127.0.0.1" in watcher_poll.task_addresses_resolve("localhost")


def test_a_poll_probes_every_listed_task_with_the_settings(watcher_poll: ModuleType) -> None:
    settings = _settings(
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
    loop = watcher_poll.Watcher(
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


def test_a_dns_failure_probes_nothing_and_keeps_the_peers(watcher_poll: ModuleType) -> None:
    settings = _settings({"UPSTREAM_SERVICES": "django=tasks.django:8000"})
    answers: list[set[str] | None] = [{"10.0.0.5"}, None]
    probed: list[object] = []

    def probe(**kwargs: object) -> str:
        probed.append(kwargs["address"])
        return "healthy"

    pushed: list[str] = []
    loop = watcher_poll.Watcher(
        settings, resolve=lambda _host: answers.pop(0), probe=probe, push=pushed.append, write_state=lambda _s: None
    )
    try:
        assert loop.poll_guarded()
        assert loop.poll_guarded()
    finally:
        loop.close()
    assert probed == ["10.0.0.5"]
    assert pushed == ["django 10.0.0.5:8000\n", "django 10.0.0.5:8000\n"]


def _fake_watcher(watcher_poll: ModuleType, **io: Any) -> Any:
    settings = _settings({"UPSTREAM_SERVICES": "django=tasks.django:8000"})
    defaults: dict[str, Any] = {
        "resolve": lambda _host: {"10.0.0.5"},
        "probe": lambda **_kwargs: "healthy",
        "push": lambda _body: None,
        "write_state": lambda _states: None,
    }
    return watcher_poll.Watcher(settings, **{**defaults, **io})


def test_a_poll_pushes_the_peers(watcher_poll: ModuleType) -> None:
    pushed: list[str] = []
    loop = _fake_watcher(watcher_poll, push=pushed.append)
    assert loop.poll_guarded()
    loop.close()
    assert pushed == ["django 10.0.0.5:8000\n"]


def test_a_failing_poll_is_logged_and_the_next_one_goes_on(
    watcher_poll: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    pushes: list[str] = []

    def push(body: str) -> None:
        pushes.append(body)
        if len(pushes) == 1:
            raise ConnectionRefusedError("nginx not listening yet")

    resolves: list[str] = []

    def resolve(host: str) -> set[str]:
        resolves.append(host)
        if len(resolves) == 2:
            raise MemoryError("anything at all")
        return {"10.0.0.5"}

    loop = _fake_watcher(watcher_poll, push=push, resolve=resolve)
    assert not loop.poll_guarded()
    assert not loop.poll_guarded()
    assert loop.poll_guarded()
    loop.close()
    err = capsys.readouterr().err
    assert "poll failed: ConnectionRefusedError" in err
    assert "poll failed: MemoryError" in err
    assert pushes[-1] == "django 10.0.0.5:8000\n"


def test_a_full_disk_for_the_state_file_does_not_stop_the_push(
    watcher_poll: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    pushed: list[str] = []

    def write_state(_states: object) -> None:
        raise OSError(28, "No space left on device")

    loop = _fake_watcher(watcher_poll, push=pushed.append, write_state=write_state)
    assert loop.poll_guarded()
    loop.close()
    assert pushed == ["django 10.0.0.5:8000\n"]
    assert "No space left on device" in capsys.readouterr().err


def test_the_state_file_is_written_when_it_changes_and_again_after_a_failed_write(watcher_poll: ModuleType) -> None:
    addresses = [{"10.0.0.5"}, {"10.0.0.5"}, {"10.0.0.5", "10.0.0.6"}, {"10.0.0.5", "10.0.0.6"}, {"10.0.0.6"}]
    writes: list[list[str]] = []
    # One entry per write attempt: polls 1, 3 (fails), 4 and 5 try; poll 2 has nothing new to write.
    fail_next = [False, True, False, False]

    def write_state(states: Any) -> None:
        if fail_next.pop(0):
            raise OSError(28, "No space left on device")
        writes.append(states["django"].peers())

    loop = _fake_watcher(watcher_poll, resolve=lambda _host: addresses.pop(0), write_state=write_state)
    for _ in range(5):
        assert loop.poll_guarded()
    loop.close()
    # Poll 2 changed nothing; poll 3's write failed, so poll 4 (same state) wrote it; poll 5 changed again.
    assert writes == [["10.0.0.5:8000"], ["10.0.0.5:8000", "10.0.0.6:8000"], ["10.0.0.6:8000"]]
