"""TCP keep-alives on each pooled connection: a database node lost without a reset is noticed."""

from __future__ import annotations

import socket

import asyncpg

from service_common.environment import DatabaseLimits


def tcp_keepalives_enable(connection: asyncpg.Connection, *, limits: DatabaseLimits) -> None:
    """TCP keep-alives and a bound on unacknowledged writes, as ``limits`` sets them.

    asyncpg has no option for them, so they are set on the connection's socket. The transport is not public
    API; tests/test_overload.py checks with ss that the options really are on, so an asyncpg upgrade cannot drop them
    silently.
    """
    sock = connection._transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # a Unix socket has no TCP to keep alive
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, limits.keepalive_idle_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, limits.keepalive_interval_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, limits.keepalive_count)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, limits.tcp_user_timeout_ms)
