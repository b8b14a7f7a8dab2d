"""Secrets reach tasks only as files under /run/secrets: never in service specs, container config or images."""

from __future__ import annotations

import pytest

from tests.swarm.harness import STACK, docker, service_containers

pytestmark = pytest.mark.swarm


def _secret_values() -> dict[str, str]:
    """The secret values as the tasks see them (Docker has no API to read a secret back)."""
    django = service_containers("django")[0]
    postgres = service_containers("postgres")[0]
    values = {
        name: docker("exec", django, "cat", f"/run/secrets/{name}")
        for name in (
            "database_url",
            "migrate_database_url",
            "django_secret_key",
            "jobs_api_token",
            "redis_password",
            "redis_cache_password",
        )
    }
    for name in ("db_owner_password", "db_app_password"):
        values[name] = docker("exec", postgres, "cat", f"/run/secrets/{name}")
    assert all(len(value) >= 20 for value in values.values()), "secrets should be long random values"
    # The cache's Redis has a password of its own, not the broker's.
    assert values["redis_cache_password"] != values["redis_password"]
    # Each role's URL carries the password PostgreSQL sets for that role.
    assert values["db_app_password"] in values["database_url"]
    assert values["db_owner_password"] in values["migrate_database_url"]
    return values


def _stack_services() -> list[str]:
    return docker("stack", "services", STACK, "--format", "{{.Name}}").split()


def test_secrets_are_mounted_as_files(swarm_stack: str) -> None:
    django = service_containers("django")[0]

    environment = docker("exec", django, "env")

    assert "DATABASE_URL_FILE=/run/secrets/database_url" in environment
    assert "MIGRATE_DATABASE_URL_FILE=/run/secrets/migrate_database_url" in environment
    assert "DJANGO_SECRET_KEY_FILE=/run/secrets/django_secret_key" in environment
    assert "REDIS_PASSWORD_FILE=/run/secrets/redis_password" in environment
    assert "SEARCH_CACHE_REDIS_PASSWORD_FILE=/run/secrets/redis_cache_password" in environment
    assert "DATABASE_URL=" not in environment.replace("DATABASE_URL_FILE=", "")
    assert "REDIS_PASSWORD=" not in environment.replace("REDIS_PASSWORD_FILE=", "")
    fastapi_environment = docker("exec", service_containers("fastapi")[0], "env")
    assert "SEARCH_CACHE_REDIS_PASSWORD_FILE=/run/secrets/redis_cache_password" in fastapi_environment
    assert "SEARCH_CACHE_REDIS_PASSWORD=" not in fastapi_environment.replace("SEARCH_CACHE_REDIS_PASSWORD_FILE=", "")


def test_no_secret_in_service_specs_containers_or_images(swarm_stack: str) -> None:
    values = _secret_values()
    services = _stack_services()
    images = {
        docker("service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", s).strip()
        for s in services
    }
    containers = docker("ps", "-q", "--filter", f"label=com.docker.stack.namespace={STACK}").split()
    documents = {f"service inspect {s}": docker("service", "inspect", s) for s in services}
    documents |= {f"container inspect {c}": docker("inspect", c) for c in containers}
    for image in images:
        documents[f"history {image}"] = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image)
        documents[f"image inspect {image}"] = docker("image", "inspect", image)

    leaks = [
        f"{secret} in {where}" for where, text in documents.items() for secret, value in values.items() if value in text
    ]

    assert len(images) >= 5 and len(containers) >= 5
    assert leaks == []
