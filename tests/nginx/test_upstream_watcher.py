"""nginx/upstream_watcher.py's CLI: its exit codes and its requests to the control server (a stand-in,
tests/nginx/conftest.py); settings refused before anything runs."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest


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
