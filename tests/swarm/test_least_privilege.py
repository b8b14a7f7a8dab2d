"""Least privilege on the running stack: the apps connect as a role that owns nothing, the superuser is kept
off the network, each service holds only the secrets it needs, and both Redis servers (Celery's broker and the
search cache) want a password and cannot be reached from the attachable network that one-off containers join."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.swarm.harness import NETWORK, STACK, docker, postgres_sql, service_containers, service_image

pytestmark = pytest.mark.swarm

# The roles scripts/deploy.sh names (DB_APP_ROLE, DB_OWNER_ROLE) and the login of volumes made before the split.
APP_ROLE = "partscat_app"
OWNER_ROLE = "partscat_owner"
LEGACY_SUPERUSER = "partscat"
REDIS_NETWORK = f"{STACK}_redis"
CACHE_NETWORK = f"{STACK}_cache"

ROLE_SQL = "SELECT current_user, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"

# Through Django's own connection, with the task's own settings (DATABASE_URL_FILE).
DJANGO_ROLE = f"""
import json
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("{ROLE_SQL}")
    print(json.dumps(cursor.fetchone()))
"""

# Through asyncpg, as the FastAPI service connects (DATABASE_URL_FILE).
FASTAPI_ROLE = f"""
import asyncio, json
import asyncpg
from service_common.environment import env_value

async def main():
    connection = await asyncpg.connect(env_value("DATABASE_URL"), timeout=10)
    try:
        print(json.dumps(list(await connection.fetchrow("{ROLE_SQL}"))))
    finally:
        await connection.close()

asyncio.run(main())
"""

# Superusers over the network, from an app task: pg_hba.conf refuses them before any password is asked.
SUPERUSER_LOGINS = f"""
import json, psycopg
answers = {{}}
for user in ("postgres", "{LEGACY_SUPERUSER}"):
    try:
        psycopg.connect(host="postgres", user=user, password="guess", dbname="partscat", connect_timeout=5).close()
        answers[user] = "connected"
    except psycopg.OperationalError as error:
        answers[user] = "rejected" if "pg_hba.conf rejects" in str(error) else str(error)
print(json.dumps(answers))
"""

# A PING without AUTH, on the network the app tasks share with Redis.
REDIS_PING_WITHOUT_AUTH = """
import socket
with socket.create_connection(("redis", 6379), timeout=5) as sock:
    sock.sendall(b"PING\\r\\n")
    print(sock.recv(128).decode().strip())
"""

# From a FastAPI task: the cache's Redis without AUTH, then the broker's name (FastAPI is not on its network).
CACHE_FROM_FASTAPI = """
import json, socket
seen = {}
with socket.create_connection(("redis-cache", 6379), timeout=5) as sock:
    sock.sendall(b"PING\\r\\n")
    seen["redis-cache"] = sock.recv(128).decode().strip()
try:
    socket.getaddrinfo("redis", None)
    seen["redis"] = "resolved"
except socket.gaierror:
    seen["redis"] = "unresolved"
print(json.dumps(seen))
"""

# The cache as the apps configure it (SEARCH_CACHE_REDIS_*, the password from its secret file).
CACHE_THROUGH_ITS_SETTINGS = """
import redis
from service_common.environment import SearchCacheSettings
settings = SearchCacheSettings.from_env()
print(redis.Redis(host=settings.host, port=settings.port, password=settings.password, socket_timeout=5).ping())
"""

# Celery's broker and result backend URLs, as the settings build them from the password secret.
CELERY_THROUGH_ITS_URL = """
from config.celery import app
with app.connection_for_write() as connection:
    connection.ensure_connection(max_retries=1)
print(app.backend.client.ping())
"""

# From a one-off container on the attachable network: names and addresses (argv) of Redis, and postgres as
# the control that the network itself works.
REACH_FROM_ONE_OFF = f"""
import json, socket, sys
seen = {{}}
for name in ("redis", "tasks.redis", "{STACK}_redis", "redis-cache", "tasks.redis-cache", "postgres"):
    try:
        socket.getaddrinfo(name, None)
        seen[name] = "resolved"
    except socket.gaierror:
        seen[name] = "unresolved"
# Whether Redis itself answers: a machine's egress proxy may accept any TCP connection (this CI's does, and
# answers HTTP), so a completed connect proves nothing. Redis answers PING with "+PONG" or "-NOAUTH ...".
for address in sys.argv[1:]:
    try:
        with socket.create_connection((address, 6379), timeout=3) as sock:
            sock.sendall(b"PING\\r\\n")
            reply = sock.recv(64)
        seen[address] = "redis answered" if reply[:1] in (b"+", b"-") else "something else answered"
    except OSError as error:
        seen[address] = type(error).__name__
print(json.dumps(seen))
"""


def _exec_python(service: str, code: str) -> str:
    """Run python with `code` inside a running task of `service` (its environment and secrets); last line out."""
    containers = service_containers(service)
    assert containers, f"no running {service} task on this node"
    if service == "django":
        out = docker("exec", containers[0], "python", "manage.py", "shell", "--command", code, timeout=60)
    else:
        out = docker("exec", containers[0], "python", "-c", code, timeout=60)
    return out.strip().splitlines()[-1]


@pytest.mark.parametrize("service", ["django", "fastapi"])
def test_the_apps_connect_as_a_role_that_is_no_superuser(swarm_stack: str, service: str) -> None:
    code = DJANGO_ROLE if service == "django" else FASTAPI_ROLE
    assert json.loads(_exec_python(service, code)) == [APP_ROLE, False, False, False]


def test_the_owner_owns_the_schema_and_no_superuser_has_a_password(swarm_stack: str) -> None:
    owners = postgres_sql("SELECT DISTINCT relowner::regrole FROM pg_class WHERE relnamespace = 'public'::regnamespace")
    assert owners.split() == [OWNER_ROLE]
    attributes = "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = :'role'"
    assert postgres_sql(attributes, role=OWNER_ROLE) == "f|f|f"
    assert postgres_sql("SELECT count(*) FROM pg_authid WHERE rolsuper AND rolpassword IS NOT NULL") == "0"


def test_the_superuser_cannot_log_in_over_the_network(swarm_stack: str) -> None:
    assert json.loads(_exec_python("django", SUPERUSER_LOGINS)) == {
        "postgres": "rejected",
        LEGACY_SUPERUSER: "rejected",
    }


@pytest.mark.parametrize(
    ("service", "secrets"),
    [
        # Only the web services migrate, so only they hold the owner's URL.
        (
            "django",
            {
                "database_url",
                "migrate_database_url",
                "django_secret_key",
                "jobs_api_token",
                "redis_password",
                "redis_cache_password",
            },
        ),
        ("celery-worker", {"database_url", "django_secret_key", "jobs_api_token", "redis_password"}),
        ("celery-beat", {"database_url", "django_secret_key", "jobs_api_token", "redis_password"}),
        ("fastapi", {"database_url", "redis_cache_password"}),
        ("postgres", {"db_owner_password", "db_app_password"}),
        ("redis", {"redis_password"}),
        ("redis-cache", {"redis_cache_password"}),
    ],
)
def test_each_service_holds_only_the_secrets_it_needs(swarm_stack: str, service: str, secrets: set[str]) -> None:
    containers = service_containers(service)
    assert containers, f"no running {service} task on this node"
    assert set(docker("exec", containers[0], "ls", "/run/secrets").split()) == secrets


def test_redis_refuses_a_connection_that_did_not_authenticate(swarm_stack: str) -> None:
    assert _exec_python("django", REDIS_PING_WITHOUT_AUTH).startswith("-NOAUTH")
    # ...while Celery's configured URL authenticates.
    assert _exec_python("django", CELERY_THROUGH_ITS_URL) == "True"


def test_the_search_cache_wants_a_password_and_fastapi_reaches_only_the_cache(swarm_stack: str) -> None:
    seen = json.loads(_exec_python("fastapi", CACHE_FROM_FASTAPI))
    assert seen["redis-cache"].startswith("-NOAUTH"), seen
    assert seen["redis"] == "unresolved", seen
    # ...while each web app's configured cache client authenticates.
    for service in ("django", "fastapi"):
        assert _exec_python(service, CACHE_THROUGH_ITS_SETTINGS) == "True", service


def _redis_addresses(service: str, network: str) -> list[str]:
    containers = service_containers(service)
    assert containers, f"no running {service} task on this node"
    networks = json.loads(docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", containers[0]))
    assert set(networks) == {network}, f"{service} should be on {network} only, not {sorted(networks)}"
    return [str(settings["IPAddress"]) for settings in networks.values()]


def test_a_one_off_container_on_the_attachable_network_cannot_reach_redis(swarm_stack: str) -> None:
    addresses = _redis_addresses("redis", REDIS_NETWORK) + _redis_addresses("redis-cache", CACHE_NETWORK)
    out = docker(
        *("run", "--rm", "--network", NETWORK, "--entrypoint", "python", service_image("django")),
        *("-c", REACH_FROM_ONE_OFF, *addresses),
        timeout=180,
    )
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen.pop("postgres") == "resolved", "the one-off container should see the stack's backend network"
    assert seen == {
        "redis": "unresolved",
        "tasks.redis": "unresolved",
        f"{STACK}_redis": "unresolved",
        "redis-cache": "unresolved",
        "tasks.redis-cache": "unresolved",
        **{address: seen[address] for address in addresses},
    }
    assert all(seen[address] != "redis answered" for address in addresses), seen


@pytest.mark.parametrize("network", [REDIS_NETWORK, CACHE_NETWORK])
def test_no_one_off_container_can_join_a_redis_network(swarm_stack: str, network: str) -> None:
    result = subprocess.run(
        ["docker", "run", "--rm", "--network", network, "--entrypoint", "true", service_image("django")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "attachable" in result.stderr, result.stderr
