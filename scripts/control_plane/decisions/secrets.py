"""The stack's secrets: the one list deploy creates, down removes and stack.yml names (as <stack>_<name>),
and which of them are missing or half-made (lib.sh's lists, deploy.sh ensure_secrets' rules).

Each database role has a password secret and a URL secret made together from one random value: a secret
cannot be read back, so one cannot be rebuilt from the other, and a pair with only one half is refused.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

# The database and its two roles (scripts/images/postgres-roles.sql); stack.yml and the URL secrets use them.
DB_NAME = "partscat"
DATABASE_ROLES = (("db_owner", "partscat_owner"), ("db_app", "partscat_app"))
# What stack.yml reads of them (POSTGRES_DB, POSTGRES_OWNER_ROLE, POSTGRES_APP_ROLE).
DATABASE_VARIABLES = {"DB_NAME": DB_NAME, "DB_OWNER_ROLE": "partscat_owner", "DB_APP_ROLE": "partscat_app"}
# Random values; redis_cache_password is the search cache's own Redis, apart from Celery's broker;
# edge_operator_token lets a request through the public port skip the cache or ask the apps' probes.
RANDOM_SECRETS = (
    "django_secret_key",
    "jobs_api_token",
    "redis_password",
    "redis_cache_password",
    "edge_operator_token",
)
# The names used before the role split: down --volumes removes them too.
LEGACY_SECRETS = ("db_password", "database_url")


def stack_secret_names(stack: str) -> list[str]:
    """Every secret name of the stack, with its prefix, in lib.sh stack_secret_names' order."""
    names = []
    for pair, _role in DATABASE_ROLES:
        names += [f"{stack}_{pair}_password", f"{stack}_{pair}_url"]
    names += [f"{stack}_{name}" for name in RANDOM_SECRETS]
    return names


def database_url(role: str, password: str) -> str:
    """The URL secret's value; the random value is alphanumeric, so it needs no escaping in a URL."""
    return f"postgres://{role}:{password}@postgres:5432/{DB_NAME}"


@dataclass(frozen=True)
class RolePair:
    role: str
    password_secret: str
    url_secret: str


@dataclass(frozen=True)
class SecretPlan:
    """What ensure_secrets finds, in its order: each role pair (present or to create) and each random secret
    (present or to create); a pair with one half only is refused before anything is created."""

    pairs: tuple[tuple[RolePair, bool], ...]
    random: tuple[tuple[str, bool], ...]
    half_made: tuple[RolePair, ...]

    @property
    def refusal(self) -> str | None:
        if not self.half_made:
            return None
        pair = self.half_made[0]
        return (
            f"only one of {pair.password_secret} / {pair.url_secret} exists; "
            "remove it (docker secret rm) so that both are made again"
        )

    @property
    def missing(self) -> list[str]:
        """The names deploy creates."""
        names = [
            name for pair, present in self.pairs if not present for name in (pair.password_secret, pair.url_secret)
        ]
        return names + [name for name, present in self.random if not present]


def secret_plan(stack: str, existing: Set[str]) -> SecretPlan:
    pairs, half = [], []
    for pair_name, role in DATABASE_ROLES:
        pair = RolePair(role, f"{stack}_{pair_name}_password", f"{stack}_{pair_name}_url")
        found = (pair.password_secret in existing, pair.url_secret in existing)
        if any(found) and not all(found):
            half.append(pair)
        pairs.append((pair, all(found)))
    random = tuple((f"{stack}_{name}", f"{stack}_{name}" in existing) for name in RANDOM_SECRETS)
    return SecretPlan(pairs=tuple(pairs), random=random, half_made=tuple(half))


def database_secrets_exist(stack: str, existing: Set[str]) -> bool:
    """Evidence that a deploy ran before (postgres-node.sh): a database secret of this version or an older one."""
    return any(f"{stack}_{name}" in existing for name in ("db_owner_password", "db_app_password", "db_password"))


def secrets_to_remove(stack: str, existing: Set[str]) -> list[str]:
    """What down --volumes removes: the stack's secrets, the two old names, and the TLS copies deploy made."""
    named = [*stack_secret_names(stack), *(f"{stack}_{name}" for name in LEGACY_SECRETS)]
    tls = sorted(name for name in existing if name.startswith(f"{stack}_tls_"))
    return [name for name in named if name in existing] + tls
