"""The watcher's decisions without Docker or Nginx: which peers, when one is dropped, DNS failures,
settings, and a poll loop that survives any one failure."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _state(watcher: ModuleType) -> Any:
    return watcher.ServiceState("tasks.django", 8000)


def _update(watcher: ModuleType, state: Any, addresses: set[str] | None, probes: Mapping[str, str]) -> list[str]:
    return list(
        watcher.rotation_update(name="django", state=state, addresses=addresses, probes=probes, timeouts_to_drop=3)
    )


def test_a_task_enters_rotation_only_once_healthy(watcher: ModuleType) -> None:
    state = _state(watcher)
    _update(watcher, state, {"10.0.0.5"}, {"10.0.0.5": "unhealthy"})
    assert state.peers() == []
    changes = _update(watcher, state, {"10.0.0.5"}, {"10.0.0.5": "healthy"})
    assert state.peers() == ["10.0.0.5:8000"]
    assert changes == ["django: 10.0.0.5:8000 into rotation (probe: healthy)"]


@pytest.mark.parametrize("probe", ["unhealthy", "down"])
def test_a_draining_or_dead_task_leaves_at_once(watcher: ModuleType, probe: str) -> None:
    state = _state(watcher)
    _update(watcher, state, {"10.0.0.5", "10.0.0.6"}, {"10.0.0.5": "healthy", "10.0.0.6": "healthy"})
    _update(watcher, state, {"10.0.0.5", "10.0.0.6"}, {"10.0.0.5": probe, "10.0.0.6": "healthy"})
    assert state.peers() == ["10.0.0.6:8000"]


def test_a_slow_task_is_dropped_only_after_several_timeouts_in_a_row(watcher: ModuleType) -> None:
    state = _state(watcher)
    _update(watcher, state, {"10.0.0.5"}, {"10.0.0.5": "healthy"})
    for _ in range(2):
        _update(watcher, state, {"10.0.0.5"}, {"10.0.0.5": "timeout"})
        assert state.peers() == ["10.0.0.5:8000"]
    # A healthy answer resets the count.
    _update(watcher, state, {"10.0.0.5"}, {"10.0.0.5": "healthy"})
    for _ in range(2):
        _update(watcher, state, {"10.0.0.5"}, {"10.0.0.5": "timeout"})
    assert state.peers() == ["10.0.0.5:8000"]
    _update(watcher, state, {"10.0.0.5"}, {"10.0.0.5": "timeout"})
    assert state.peers() == []


def test_a_task_gone_from_dns_is_dropped_and_forgotten(watcher: ModuleType) -> None:
    state = _state(watcher)
    _update(watcher, state, {"10.0.0.5", "10.0.0.6"}, {"10.0.0.5": "healthy", "10.0.0.6": "healthy"})
    changes = _update(watcher, state, {"10.0.0.6"}, {"10.0.0.6": "healthy"})
    assert state.peers() == ["10.0.0.6:8000"]
    assert set(state.tasks) == {"10.0.0.6"}
    assert changes == ["django: 10.0.0.5:8000 left DNS; out of rotation"]


def test_a_dns_failure_keeps_the_current_peers(watcher: ModuleType) -> None:
    state = _state(watcher)
    _update(watcher, state, {"10.0.0.5"}, {"10.0.0.5": "healthy"})
    changes = _update(watcher, state, None, {})
    assert state.peers() == ["10.0.0.5:8000"]
    assert "DNS lookup of tasks.django failed" in changes[0]


def test_no_task_at_all_means_no_peers(watcher: ModuleType) -> None:
    state = _state(watcher)
    _update(watcher, state, {"10.0.0.5"}, {"10.0.0.5": "healthy"})
    _update(watcher, state, set(), {})
    assert state.peers() == []


def test_peers_are_in_numeric_address_order_and_rendered_one_line_per_service(watcher: ModuleType) -> None:
    django, fastapi = _state(watcher), watcher.ServiceState("tasks.fastapi", 8001)
    addresses = {"10.0.0.10", "10.0.0.9", "10.0.1.2"}
    _update(watcher, django, addresses, dict.fromkeys(addresses, "healthy"))
    assert django.peers() == ["10.0.0.9:8000", "10.0.0.10:8000", "10.0.1.2:8000"]
    body = watcher.peers_body({"fastapi": fastapi, "django": django})
    assert body == "django 10.0.0.9:8000 10.0.0.10:8000 10.0.1.2:8000\nfastapi \n"


def test_settings_parse_services_and_refuse_bad_values(watcher: ModuleType) -> None:
    settings = watcher.settings_load({"UPSTREAM_SERVICES": "django-blue=tasks.django-blue:8000", "POLL_SECONDS": "0.5"})
    assert settings.services == {"django-blue": ("tasks.django-blue", 8000)}
    assert settings.poll_seconds == 0.5
    defaults = watcher.settings_load({})
    assert defaults.services == {
        "django-blue": ("tasks.django-blue", 8000),
        "django-green": ("tasks.django-green", 8000),
        "fastapi-blue": ("tasks.fastapi-blue", 8001),
        "fastapi-green": ("tasks.fastapi-green", 8001),
    }
    # Swarm fills LIVE_COLOUR from a service label, empty before the first switch.
    assert defaults.live_colour == "blue"
    assert watcher.settings_load({"LIVE_COLOUR": ""}).live_colour == "blue"
    assert watcher.settings_load({"LIVE_COLOUR": "green"}).live_colour == "green"
    for bad in (
        {"UPSTREAM_SERVICES": "django"},
        {"UPSTREAM_SERVICES": ""},
        {"POLL_SECONDS": "soon"},
        {"LIVE_COLOUR": "purple"},
    ):
        with pytest.raises(watcher.SettingsError):
            watcher.settings_load(bad)
    with pytest.raises(watcher.SettingsError, match="DRAIN_SECONDS must not be negative"):
        watcher.settings_load({"DRAIN_SECONDS": "-1"})


def test_tls_needs_both_paths_or_neither(watcher: ModuleType) -> None:
    assert watcher.settings_load({}).tls is None
    assert watcher.settings_load({"TLS_CERT_PATH": "", "TLS_KEY_PATH": " "}).tls is None
    tls = watcher.settings_load({"TLS_CERT_PATH": "/run/secrets/tls_cert", "TLS_KEY_PATH": "/run/secrets/tls_key"}).tls
    assert tls == watcher.TlsSettings(cert_path="/run/secrets/tls_cert", key_path="/run/secrets/tls_key")
    with pytest.raises(watcher.SettingsError, match="TLS_KEY_PATH is missing"):
        watcher.settings_load({"TLS_CERT_PATH": "/run/secrets/tls_cert"})
    with pytest.raises(watcher.SettingsError, match="TLS_CERT_PATH is missing"):
        watcher.settings_load({"TLS_KEY_PATH": "/run/secrets/tls_key"})
    # The paths go into nginx.conf syntax: nothing that could end or add a directive.
    for bad in ("run/secrets/cert", "/run/secrets/cert; include /etc/passwd", "/a b", "/a{b}", '/a"b'):
        with pytest.raises(watcher.SettingsError, match="TLS_CERT_PATH must be an absolute path"):
            watcher.settings_load({"TLS_CERT_PATH": bad, "TLS_KEY_PATH": "/run/secrets/tls_key"})


def test_debug_headers_are_off_unless_set_to_1(watcher: ModuleType) -> None:
    assert watcher.settings_load({}).debug_headers is False
    assert watcher.settings_load({"EDGE_DEBUG_HEADERS": "0"}).debug_headers is False
    assert watcher.settings_load({"EDGE_DEBUG_HEADERS": "1"}).debug_headers is True
    # lua/edge_debug.lua only knows "1": anything else would silently mean off, so it is refused at start.
    for bad in ("true", "yes", "2"):
        with pytest.raises(watcher.SettingsError, match="EDGE_DEBUG_HEADERS must be 0 or 1"):
            watcher.settings_load({"EDGE_DEBUG_HEADERS": bad})


def test_the_tls_listener_is_written_only_with_a_certificate(watcher: ModuleType, tmp_path: Path) -> None:
    tls = watcher.TlsSettings(cert_path="/run/secrets/tls_cert", key_path="/run/secrets/tls_key")
    folder = tmp_path / "tls"
    watcher.tls_include_write(tls, directory=str(folder))
    written = (folder / "listener.conf").read_text()
    assert "listen 8443 ssl;\n" in written
    assert "ssl_certificate /run/secrets/tls_cert;\n" in written
    assert "ssl_certificate_key /run/secrets/tls_key;\n" in written
    # A restart without a certificate leaves nothing behind for nginx.conf's include.
    watcher.tls_include_write(None, directory=str(folder))
    assert list(folder.iterdir()) == []
    watcher.tls_include_write(None, directory=str(folder))


def _fake_watcher(watcher: ModuleType, **io: Any) -> Any:
    settings = watcher.settings_load({"UPSTREAM_SERVICES": "django=tasks.django:8000"})
    defaults: dict[str, Any] = {
        "resolve": lambda _host: {"10.0.0.5"},
        "probe": lambda **_kwargs: "healthy",
        "push": lambda _body: None,
        "write_state": lambda _states: None,
    }
    return watcher.Watcher(settings, **{**defaults, **io})


def test_a_poll_pushes_the_peers(watcher: ModuleType) -> None:
    pushed: list[str] = []
    loop = _fake_watcher(watcher, push=pushed.append)
    assert loop.poll_guarded()
    loop.close()
    assert pushed == ["django 10.0.0.5:8000\n"]


def test_a_failing_poll_is_logged_and_the_next_one_goes_on(
    watcher: ModuleType, capsys: pytest.CaptureFixture[str]
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

    loop = _fake_watcher(watcher, push=push, resolve=resolve)
    assert not loop.poll_guarded()
    assert not loop.poll_guarded()
    assert loop.poll_guarded()
    loop.close()
    err = capsys.readouterr().err
    assert "poll failed: ConnectionRefusedError" in err
    assert "poll failed: MemoryError" in err
    assert pushes[-1] == "django 10.0.0.5:8000\n"


def test_a_full_disk_for_the_state_file_does_not_stop_the_push(
    watcher: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    pushed: list[str] = []

    def write_state(_states: object) -> None:
        raise OSError(28, "No space left on device")

    loop = _fake_watcher(watcher, push=pushed.append, write_state=write_state)
    assert loop.poll_guarded()
    loop.close()
    assert pushed == ["django 10.0.0.5:8000\n"]
    assert "No space left on device" in capsys.readouterr().err


def test_the_state_file_is_written_when_it_changes_and_again_after_a_failed_write(watcher: ModuleType) -> None:
    addresses = [{"10.0.0.5"}, {"10.0.0.5"}, {"10.0.0.5", "10.0.0.6"}, {"10.0.0.5", "10.0.0.6"}, {"10.0.0.6"}]
    writes: list[list[str]] = []
    # One entry per write attempt: polls 1, 3 (fails), 4 and 5 try; poll 2 has nothing new to write.
    fail_next = [False, True, False, False]

    def write_state(states: Any) -> None:
        if fail_next.pop(0):
            raise OSError(28, "No space left on device")
        writes.append(states["django"].peers())

    loop = _fake_watcher(watcher, resolve=lambda _host: addresses.pop(0), write_state=write_state)
    for _ in range(5):
        assert loop.poll_guarded()
    loop.close()
    # Poll 2 changed nothing; poll 3's write failed, so poll 4 (same state) wrote it; poll 5 changed again.
    assert writes == [["10.0.0.5:8000"], ["10.0.0.5:8000", "10.0.0.6:8000"], ["10.0.0.6:8000"]]
