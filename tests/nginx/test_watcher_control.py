"""nginx/watcher_control.py: drain, then act; at once when no control server answers. Its requests and refusals
through the CLI are in test_upstream_watcher.py, against a real Nginx in test_edge.py."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from tests.loopback_http import refused_port


class _Clock:
    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def test_drain_asks_nginx_waits_then_acts(
    watcher_control: ModuleType, control: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock()
    monkeypatch.setattr(watcher_control, "time", clock)
    acted: list[int] = []
    watcher_control.drain_then(lambda: acted.append(len(control.received)), 2.5)
    assert [request.path for request in control.received] == ["/edge/drain"]
    assert clock.slept == [2.5]
    assert acted == [1]  # after the drain request


def test_without_a_control_server_the_action_still_runs_at_once(
    watcher_control: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = _Clock()
    monkeypatch.setattr(watcher_control, "time", clock)
    monkeypatch.setattr(watcher_control, "CONTROL_ADDRESS", ("127.0.0.1", refused_port()))
    acted: list[bool] = []
    watcher_control.drain_then(lambda: acted.append(True), 2.5)
    assert acted == [True]
    assert clock.slept == []
    assert "drain request failed" in capsys.readouterr().err
