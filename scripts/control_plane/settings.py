"""The control plane's settings: the environment, read once and typed; a bad value stops it at start with a
message naming the variable. The names and defaults are the bash scripts' (lib.sh and each script)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


class SettingsError(ValueError):
    pass


def _text(environ: Mapping[str, str], name: str, default: str) -> str:
    """${NAME:-default}: unset and empty both mean the default."""
    return environ.get(name) or default


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = _text(environ, name, "")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value < 0 or not math.isfinite(value):
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}")
    return value


def _count(environ: Mapping[str, str], name: str, default: int, *, low: int = 0, high: int | None = None) -> int:
    raw = _text(environ, name, "")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
        bounds = f"{low}..{high}" if high is not None else f"{low} or more"
        raise SettingsError(f"{name} must be a whole number ({bounds}), got {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class Settings:
    stack: str
    http_port: int
    repo_root: Path
    events_file: Path
    # update.sh / rollback.sh (UPDATE_*), deploy.sh (DEPLOY_*), bluegreen.sh (READY_*).
    update_timeout: float
    update_poll: float
    deploy_timeout: float
    ready_timeout: float
    tls_cert_file: str
    tls_key_file: str
    tls_disable: bool
    # The live colour's replicas on a deploy: DJANGO_REPLICAS, FASTAPI_REPLICAS (default 2).
    app_replicas: Mapping[str, int]
    # up.sh's seed: SEED_PARTS, SEED_NUMBER.
    seed_parts: int
    seed_number: int
    # Images from a registry (README, "Cluster"): REGISTRY and TAG name REGISTRY/partscat/<name>:TAG; unset, the
    # images build-images.sh built on this machine.
    registry: str = ""
    tag: str = ""
    # PostgreSQL's and Redis's images go by tags of their own (stack.yml: POSTGRES_TAG, REDIS_TAG): a release's
    # TAG must not restart them.
    data_tags: Mapping[str, str] = field(default_factory=dict)
    # The Docker endpoint of each node, by hostname (PARTSCAT_NODE_HOSTS="node-1=ssh://node-1,..."): `docker exec`
    # reaches only the node a container runs on, and the edge runs on every edge node. Unset: this engine only.
    node_hosts: Mapping[str, str] = field(default_factory=dict)

    @property
    def cache_dir(self) -> Path:
        return self.repo_root / ".cache"

    @property
    def images_env(self) -> Path:
        """The image references scripts/build-images.sh writes."""
        return self.cache_dir / "images.env"

    @property
    def nginx_service(self) -> str:
        return f"{self.stack}_nginx"


def cache_dir_ensure(settings: Settings) -> None:
    """The cache holds wheels, generated env files and the event log; git must never see it."""
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    ignore = settings.cache_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")


def settings_load(environ: Mapping[str, str], *, repo_root: Path = REPO_ROOT) -> Settings:
    stack = _text(environ, "STACK_NAME", "partscat")
    events = _text(environ, "STACK_EVENTS_FILE", "")
    return Settings(
        stack=stack,
        http_port=_count(environ, "HTTP_PORT", 8080, low=1, high=65535),
        repo_root=repo_root,
        events_file=Path(events) if events else repo_root / ".cache" / "stack-events.jsonl",
        update_timeout=_seconds(environ, "UPDATE_TIMEOUT_SECONDS", 600),
        update_poll=_seconds(environ, "UPDATE_POLL_SECONDS", 2),
        deploy_timeout=_seconds(environ, "DEPLOY_TIMEOUT_SECONDS", 300),
        ready_timeout=_seconds(environ, "READY_TIMEOUT_SECONDS", 300),
        tls_cert_file=environ.get("TLS_CERT_FILE", ""),
        tls_key_file=environ.get("TLS_KEY_FILE", ""),
        tls_disable=_text(environ, "TLS_DISABLE", "0") == "1",
        app_replicas={
            "django": _count(environ, "DJANGO_REPLICAS", 2),
            "fastapi": _count(environ, "FASTAPI_REPLICAS", 2),
        },
        seed_parts=_count(environ, "SEED_PARTS", 10000),
        seed_number=_count(environ, "SEED_NUMBER", 1),
        registry=_registry(environ),
        tag=_text(environ, "TAG", ""),
        data_tags={
            "POSTGRES_IMAGE": _text(environ, "POSTGRES_TAG", "15"),
            "REDIS_IMAGE": _text(environ, "REDIS_TAG", "7"),
        },
        node_hosts=_node_hosts(environ),
    )


def _registry(environ: Mapping[str, str]) -> str:
    registry, tag = _text(environ, "REGISTRY", ""), _text(environ, "TAG", "")
    # REGISTRY alone is fine (`cluster.sh env` sets it; a switch needs no image); what deploys asks for TAG.
    if tag and not registry:
        raise SettingsError("TAG names a release in REGISTRY: set REGISTRY too")
    if registry.endswith("/") or "://" in registry:
        raise SettingsError(f"REGISTRY is a host[:port], as in an image name, got {registry!r}")
    return registry


def _node_hosts(environ: Mapping[str, str]) -> dict[str, str]:
    raw = _text(environ, "PARTSCAT_NODE_HOSTS", "")
    hosts = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        node, _, endpoint = item.partition("=")
        if not node or not endpoint:
            raise SettingsError(f"PARTSCAT_NODE_HOSTS is node=docker-host[,...], got {item!r}")
        hosts[node] = endpoint
    return hosts


def images_env_parse(text: str) -> dict[str, str]:
    """build-images.sh's images.env: NAME=value lines and # comments (the bash sourced it with set -a)."""
    values = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or "=" not in stripped:
            continue
        name, value = stripped.split("=", 1)
        values[name.strip()] = value.strip().strip("'\"")
    return values


def seconds_text(seconds: float) -> str:
    """A duration as the bash printed it: 300, not 300.0."""
    return f"{seconds:g}"
