"""fastapi_search/keepalives.py: each TCP connection of the pool gets the limits' keep-alives and user timeout; a
Unix socket is left alone. tests/test_overload.py checks the real pool's connections with ss."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import cast

import asyncpg
import pytest

from fastapi_search.keepalives import tcp_keepalives_enable
from service_common.environment import DatabaseLimits


class _Transport:
    def __init__(self, sock: socket.socket | None) -> None:
        self.sock = sock

    def get_extra_info(self, name: str) -> socket.socket | None:
        assert name == "socket"
        return self.sock


class _Connection:
    def __init__(self, sock: socket.socket | None) -> None:
        self._transport = _Transport(sock)


def _enable(sock: socket.socket | None) -> None:
    tcp_keepalives_enable(cast(asyncpg.Connection, _Connection(sock)), limits=DatabaseLimits())


@pytest.fixture
def tcp_socket() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as server, socket.create_connection(server.getsockname()) as client:
        yield client


def test_a_tcp_connection_gets_the_limits_keepalives(tcp_socket: socket.socket) -> None:
    limits = DatabaseLimits()
    _enable(tcp_socket)
    assert tcp_socket.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    assert tcp_socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == limits.keepalive_idle_s
    assert tcp_socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == limits.keepalive_interval_s
    assert tcp_socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == limits.keepalive_count
    assert tcp_socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == limits.tcp_user_timeout_ms


def test_a_unix_socket_or_none_is_left_alone() -> None:
    unix, other = socket.socketpair(socket.AF_UNIX)
    with unix, other:
        _enable(unix)
        assert unix.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
    _enable(None)
