"""nginx/watcher_settings.py: the environment read once, typed, refused when malformed: the services, the live
colour, numbers, TLS paths (both or neither, nothing that could end a directive) and the debug flag."""

from __future__ import annotations

from types import ModuleType

import pytest


def test_settings_parse_services_and_refuse_bad_values(watcher_settings: ModuleType) -> None:
    settings = watcher_settings.settings_load(
        {"UPSTREAM_SERVICES": "django-blue=tasks.django-blue:8000", "POLL_SECONDS": "0.5"}
    )
    assert settings.services == {"django-blue": ("tasks.django-blue", 8000)}
    assert settings.poll_seconds == 0.5
    defaults = watcher_settings.settings_load({})
    assert defaults.services == {
        "django-blue": ("tasks.django-blue", 8000),
        "django-green": ("tasks.django-green", 8000),
        "fastapi-blue": ("tasks.fastapi-blue", 8001),
        "fastapi-green": ("tasks.fastapi-green", 8001),
    }
    # Swarm fills LIVE_COLOUR from a service label, empty before the first switch.
    assert defaults.live_colour == "blue"
    assert watcher_settings.settings_load({"LIVE_COLOUR": ""}).live_colour == "blue"
    assert watcher_settings.settings_load({"LIVE_COLOUR": "green"}).live_colour == "green"
    for bad in (
        {"UPSTREAM_SERVICES": "django"},
        {"UPSTREAM_SERVICES": ""},
        {"POLL_SECONDS": "soon"},
        {"LIVE_COLOUR": "purple"},
    ):
        with pytest.raises(watcher_settings.SettingsError):
            watcher_settings.settings_load(bad)
    with pytest.raises(watcher_settings.SettingsError, match="DRAIN_SECONDS must not be negative"):
        watcher_settings.settings_load({"DRAIN_SECONDS": "-1"})


def test_tls_needs_both_paths_or_neither(watcher_settings: ModuleType) -> None:
    assert watcher_settings.settings_load({}).tls is None
    assert watcher_settings.settings_load({"TLS_CERT_PATH": "", "TLS_KEY_PATH": " "}).tls is None
    tls = watcher_settings.settings_load(
        {"TLS_CERT_PATH": "/run/secrets/tls_cert", "TLS_KEY_PATH": "/run/secrets/tls_key"}
    ).tls
    assert tls == watcher_settings.TlsSettings(cert_path="/run/secrets/tls_cert", key_path="/run/secrets/tls_key")
    with pytest.raises(watcher_settings.SettingsError, match="TLS_KEY_PATH is missing"):
        watcher_settings.settings_load({"TLS_CERT_PATH": "/run/secrets/tls_cert"})
    with pytest.raises(watcher_settings.SettingsError, match="TLS_CERT_PATH is missing"):
        watcher_settings.settings_load({"TLS_KEY_PATH": "/run/secrets/tls_key"})
    # The paths go into nginx.conf syntax: nothing that could end or add a directive.
    for bad in ("run/secrets/cert", "/run/secrets/cert; include /etc/passwd", "/a b", "/a{b}", '/a"b'):
        with pytest.raises(watcher_settings.SettingsError, match="TLS_CERT_PATH must be an absolute path"):
            watcher_settings.settings_load({"TLS_CERT_PATH": bad, "TLS_KEY_PATH": "/run/secrets/tls_key"})


def test_debug_headers_are_off_unless_set_to_1(watcher_settings: ModuleType) -> None:
    assert watcher_settings.settings_load({}).debug_headers is False
    assert watcher_settings.settings_load({"EDGE_DEBUG_HEADERS": "0"}).debug_headers is False
    assert watcher_settings.settings_load({"EDGE_DEBUG_HEADERS": "1"}).debug_headers is True
    # lua/edge_debug.lua only knows "1": anything else would silently mean off, so it is refused at start.
    for bad in ("true", "yes", "2"):
        with pytest.raises(watcher_settings.SettingsError, match="EDGE_DEBUG_HEADERS must be 0 or 1"):
            watcher_settings.settings_load({"EDGE_DEBUG_HEADERS": bad})


def test_timeouts_to_drop_is_at_least_one(watcher_settings: ModuleType) -> None:
    assert watcher_settings.settings_load({"TIMEOUTS_TO_DROP": "0"}).timeouts_to_drop == 1
