"""The edge's code, loaded from nginx/ (it ships as files in the Nginx image, not as a package)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.nginx.edge_server import echo_backends

NGINX_DIR = Path(__file__).resolve().parents[2] / "nginx"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is built.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def watcher() -> ModuleType:
    return _load("upstream_watcher", NGINX_DIR / "upstream_watcher.py")


@pytest.fixture(scope="module")
def backend() -> Iterator[int]:
    """One echo backend (tests/nginx/edge_server.py) that every route of a module's edge is pointed at."""
    with echo_backends(1) as ports:
        yield ports[0]
