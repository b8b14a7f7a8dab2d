"""The edge's code, loaded from nginx/ (it ships as files in the Nginx image, not as a package)."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from tests.nginx.edge_server import echo_backends, nginx_module


@pytest.fixture(scope="session")
def socket_holder() -> ModuleType:
    return nginx_module("socket_holder")


@pytest.fixture(scope="session")
def watcher() -> ModuleType:
    return nginx_module("upstream_watcher")


@pytest.fixture(scope="module")
def backend() -> Iterator[int]:
    """One echo backend (tests/nginx/edge_server.py) that every route of a module's edge is pointed at."""
    with echo_backends(1) as ports:
        yield ports[0]
