"""The watcher's settings, read once from the environment, typed, refused at start when malformed.

Configuration (environment):
  UPSTREAM_SERVICES  name=dns-name:port[,...]   default: DEFAULT_SERVICES below
  LIVE_COLOUR (blue), HEALTH_PATH (/healthz), HEALTH_HOST (localhost), POLL_SECONDS (1), PROBE_TIMEOUT_SECONDS (2),
  TIMEOUTS_TO_DROP (3), NGINX_STOP_SECONDS (25), DRAIN_SECONDS (2)
  TLS_CERT_PATH, TLS_KEY_PATH (both or neither; absolute paths)
  EDGE_DEBUG_HEADERS (0): 1 adds X-Upstream-Addr to every response (lua/edge_debug.lua reads it; checked here)
  EDGE_SOCKET_PATH: the socket holder's Unix socket (unset: Nginx binds :8080 itself); EDGE_SOCKET_WAIT_SECONDS (60),
  EDGE_TASK_NAME (the hostname): names this task's own handover file, nginx-<name>.sock beside the holder's
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Where the watcher writes: the running configuration, the include directories, the seed, the state file.
RUNTIME_DIR = os.environ.get("NGINX_RUNTIME_DIR", "/tmp/nginx")
# Paths written into nginx.conf syntax unquoted: no whitespace, quotes, ';', '{' or '}' can get in.
_NGINX_SAFE_PATH = re.compile(r"/[A-Za-z0-9._/-]+")

COLOURS = ("blue", "green")
DEFAULT_SERVICES = ",".join(
    f"{app}-{colour}=tasks.{app}-{colour}:{port}"
    for app, port in (("django", 8000), ("fastapi", 8001))
    for colour in COLOURS
)


class SettingsError(ValueError):
    """A setting in the environment is missing or malformed."""


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must not be negative, got {raw!r}")
    return value


@dataclass(frozen=True)
class TlsSettings:
    cert_path: str
    key_path: str


def tls_settings_load(environ: Mapping[str, str]) -> TlsSettings | None:
    """TLS_CERT_PATH and TLS_KEY_PATH, both or neither; None means plain HTTP only."""
    cert, key = environ.get("TLS_CERT_PATH", "").strip(), environ.get("TLS_KEY_PATH", "").strip()
    if not cert and not key:
        return None
    if not cert or not key:
        missing = "TLS_KEY_PATH" if cert else "TLS_CERT_PATH"
        raise SettingsError(f"{missing} is missing: TLS needs both TLS_CERT_PATH and TLS_KEY_PATH, or neither")
    for name, path in (("TLS_CERT_PATH", cert), ("TLS_KEY_PATH", key)):
        if not _NGINX_SAFE_PATH.fullmatch(path):
            raise SettingsError(f"{name} must be an absolute path of letters, digits, '._-/', got {path!r}")
    return TlsSettings(cert_path=cert, key_path=key)


def _flag(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "0").strip() or "0"
    if raw not in ("0", "1"):
        raise SettingsError(f"{name} must be 0 or 1, got {raw!r}")
    return raw == "1"


@dataclass(frozen=True)
class WatcherSettings:
    services: dict[str, tuple[str, int]]
    health_path: str
    health_host: str
    poll_seconds: float
    probe_timeout_seconds: float
    timeouts_to_drop: int
    nginx_stop_seconds: float
    drain_seconds: float
    live_colour: str
    # The canary share and allowlist (lua/edge_decisions.lua): "<percent> [value ...]", from the nginx service's labels.
    canary: str = "0"
    tls: TlsSettings | None = None
    debug_headers: bool = False
    edge_socket_path: str | None = None
    edge_socket_wait_seconds: float = 60.0
    # Names this task's handover file beside the holder's (the container's hostname in Swarm: unique).
    task_name: str = "nginx"


def canary_body(percent: str, allow: Sequence[str]) -> str:
    """POST /edge/canary's body; a share that is no whole number 0-100 is refused here, as Nginx would."""
    if not percent.isdigit() or int(percent) > 100:
        raise SettingsError(f"the canary share must be a whole number 0-100, got {percent!r}")
    return " ".join([str(int(percent)), *allow])


def canary_load(environ: Mapping[str, str]) -> str:
    """CANARY_PERCENT and CANARY_ALLOW (space or comma separated), which stack.yml fills from the nginx
    service's labels when the task is created; empty: no canary."""
    allow = environ.get("CANARY_ALLOW", "").replace(",", " ").split()
    return canary_body(environ.get("CANARY_PERCENT", "").strip() or "0", allow)


def settings_load(environ: Mapping[str, str]) -> WatcherSettings:
    raw = environ.get("UPSTREAM_SERVICES", DEFAULT_SERVICES)
    services: dict[str, tuple[str, int]] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        try:
            name, target = item.split("=", 1)
            host, port = target.rsplit(":", 1)
            services[name.strip()] = (host.strip(), int(port))
        except ValueError:
            raise SettingsError(f"bad UPSTREAM_SERVICES item {item!r} (want name=host:port)") from None
    if not services:
        raise SettingsError("UPSTREAM_SERVICES names no service")
    # Empty when the nginx service has no label yet (first deploy): blue.
    live_colour = environ.get("LIVE_COLOUR", "").strip() or COLOURS[0]
    if live_colour not in COLOURS:
        raise SettingsError(f"LIVE_COLOUR must be one of {', '.join(COLOURS)}, got {live_colour!r}")
    return WatcherSettings(
        canary=canary_load(environ),
        services=services,
        health_path=environ.get("HEALTH_PATH", "/healthz"),
        health_host=environ.get("HEALTH_HOST", "localhost"),
        poll_seconds=_number(environ, "POLL_SECONDS", 1.0),
        probe_timeout_seconds=_number(environ, "PROBE_TIMEOUT_SECONDS", 2.0),
        timeouts_to_drop=max(1, int(_number(environ, "TIMEOUTS_TO_DROP", 3))),
        nginx_stop_seconds=_number(environ, "NGINX_STOP_SECONDS", 25.0),
        drain_seconds=_number(environ, "DRAIN_SECONDS", 2.0),
        live_colour=live_colour,
        tls=tls_settings_load(environ),
        debug_headers=_flag(environ, "EDGE_DEBUG_HEADERS"),
        edge_socket_path=environ.get("EDGE_SOCKET_PATH", "").strip() or None,
        edge_socket_wait_seconds=_number(environ, "EDGE_SOCKET_WAIT_SECONDS", 60.0),
        task_name=environ.get("EDGE_TASK_NAME", "").strip() or socket.gethostname(),
    )
