"""settings.py: the environment read once, the bash scripts' names and defaults, a bad value named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scripts.control_plane.settings import SettingsError, images_env_parse, seconds_text, settings_load


def test_defaults_are_the_bash_scripts() -> None:
    settings = settings_load({}, repo_root=Path("/repo"))
    assert (settings.stack, settings.http_port, settings.nginx_service) == ("partscat", 8080, "partscat_nginx")
    assert (settings.update_timeout, settings.update_poll, settings.deploy_timeout, settings.ready_timeout) == (
        600,
        2,
        300,
        300,
    )
    assert settings.app_replicas == {"django": 2, "fastapi": 2}
    assert settings.images_env == Path("/repo/.cache/images.env")
    assert settings.events_file == Path("/repo/.cache/stack-events.jsonl")
    assert (settings.tls_disable, settings.seed_parts, settings.seed_number) == (False, 10000, 1)


def test_an_empty_variable_means_its_default_as_in_bash() -> None:
    assert settings_load({"STACK_NAME": "", "HTTP_PORT": ""}).stack == "partscat"


def test_values() -> None:
    settings = settings_load(
        {
            "STACK_NAME": "staging",
            "HTTP_PORT": "8090",
            "UPDATE_POLL_SECONDS": "0.01",
            "TLS_DISABLE": "1",
            "DJANGO_REPLICAS": "3",
            "STACK_EVENTS_FILE": "/var/log/stack.jsonl",
        }
    )
    assert (settings.stack, settings.http_port, settings.update_poll) == ("staging", 8090, 0.01)
    assert settings.tls_disable and settings.app_replicas["django"] == 3
    assert settings.events_file == Path("/var/log/stack.jsonl")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HTTP_PORT", "0", "HTTP_PORT must be a whole number (1..65535), got '0'"),
        ("UPDATE_TIMEOUT_SECONDS", "soon", "UPDATE_TIMEOUT_SECONDS must be a number of seconds, got 'soon'"),
        ("READY_TIMEOUT_SECONDS", "-1", "READY_TIMEOUT_SECONDS must be a number of seconds, got '-1'"),
        ("FASTAPI_REPLICAS", "two", "FASTAPI_REPLICAS must be a whole number (0 or more), got 'two'"),
    ],
)
def test_a_bad_value_is_named(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as error:
        settings_load({name: value})
    assert str(error.value) == message


def test_images_env_as_build_images_writes_it() -> None:
    text = "# build-images.sh\nPOSTGRES_IMAGE=partscat/postgres:e212db5\n\nNGINX_IMAGE='partscat/nginx:b26a905'\n"
    assert images_env_parse(text) == {
        "POSTGRES_IMAGE": "partscat/postgres:e212db5",
        "NGINX_IMAGE": "partscat/nginx:b26a905",
    }


def test_seconds_text() -> None:
    assert (seconds_text(300), seconds_text(0), seconds_text(2.5)) == ("300", "0", "2.5")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"TAG": "abc"}, "TAG names a release in REGISTRY: set REGISTRY too"),
        ({"REGISTRY": "https://registry.example", "TAG": "abc"}, "REGISTRY is a host[:port]"),
        ({"PARTSCAT_NODE_HOSTS": "node-1"}, "PARTSCAT_NODE_HOSTS is node=docker-host"),
    ],
)
def test_registry_and_node_hosts_are_checked_at_start(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        settings_load(environ)


def test_node_hosts_by_hostname() -> None:
    settings = settings_load({"PARTSCAT_NODE_HOSTS": "n1=unix:///a.sock, n2=ssh://n2"})
    assert settings.node_hosts == {"n1": "unix:///a.sock", "n2": "ssh://n2"}
