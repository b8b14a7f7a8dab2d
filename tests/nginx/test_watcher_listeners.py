"""nginx/watcher_listeners.py: the TLS listener written where nginx.conf includes it, only with a certificate.
The holder's sockets taken, served on and written as listen lines: test_socket_handover.py."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType


def test_the_tls_listener_is_written_only_with_a_certificate(
    watcher_listeners: ModuleType, watcher_settings: ModuleType, tmp_path: Path
) -> None:
    tls = watcher_settings.TlsSettings(cert_path="/run/secrets/tls_cert", key_path="/run/secrets/tls_key")
    folder = tmp_path / "tls"
    watcher_listeners.tls_include_write(tls, directory=str(folder))
    written = (folder / "listener.conf").read_text()
    assert "listen 8443 ssl;\n" in written
    assert "ssl_certificate /run/secrets/tls_cert;\n" in written
    assert "ssl_certificate_key /run/secrets/tls_key;\n" in written
    # A restart without a certificate leaves nothing behind for nginx.conf's include.
    watcher_listeners.tls_include_write(None, directory=str(folder))
    assert list(folder.iterdir()) == []
    watcher_listeners.tls_include_write(None, directory=str(folder))
