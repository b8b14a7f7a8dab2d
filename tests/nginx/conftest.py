"""The edge's code, loaded from nginx/ (it ships as files in the Nginx image, not as a package): one fixture per
module, named after it, and the stand-ins the watcher's tests share."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.loopback_http import scripted_server
from tests.nginx.edge_server import echo_backends, nginx_module


@pytest.fixture(scope="session")
def socket_holder() -> ModuleType:
    return nginx_module("socket_holder")


@pytest.fixture(scope="session")
def watcher() -> ModuleType:
    """nginx/upstream_watcher.py: the entry, `run` and the CLI."""
    return nginx_module("upstream_watcher")


@pytest.fixture(scope="session")
def watcher_settings() -> ModuleType:
    return nginx_module("watcher_settings")


@pytest.fixture(scope="session")
def watcher_decisions() -> ModuleType:
    return nginx_module("watcher_decisions")


@pytest.fixture(scope="session")
def watcher_poll() -> ModuleType:
    return nginx_module("watcher_poll")


@pytest.fixture(scope="session")
def watcher_control() -> ModuleType:
    return nginx_module("watcher_control")


@pytest.fixture(scope="session")
def watcher_listeners() -> ModuleType:
    return nginx_module("watcher_listeners")


@pytest.fixture(scope="session")
def watcher_nginx() -> ModuleType:
    return nginx_module("watcher_nginx")


@pytest.fixture
def control(watcher_control: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A stand-in for nginx.conf's control server: POST /edge/live refuses green (no peers), the rest answer 200."""
    answers = {"/edge/live": (200, b"live blue\n"), "/edge/drain": (200, b"draining\n")}
    with scripted_server(answers) as server:
        monkeypatch.setattr(watcher_control, "CONTROL_ADDRESS", ("127.0.0.1", server.port))
        yield server


@pytest.fixture(scope="module")
def backend() -> Iterator[int]:
    """One echo backend (tests/nginx/edge_server.py) that every route of a module's edge is pointed at."""
    with echo_backends(1) as ports:
        yield ports[0]
