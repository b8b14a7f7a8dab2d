"""Decisions about the edge (the nginx service and its socket holder): the ports an nginx from before the
socket holder still publishes, which certificate secrets HTTPS uses, the host name the smoke checks send,
and the smoke checks themselves."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from scripts.control_plane.records import Service

# Inside every Nginx task: the preview listener (the colour that is not live) and the live colour's
# internal listener (the public port's socket is the holder's, in another network namespace).
PREVIEW_PORT = 8081
LIVE_PORT = 8082


@dataclass(frozen=True)
class SmokeCheck:
    path: str
    # A JSON body to POST; None for a GET.
    json_body: str | None = None


# What bluegreen deploy asks through Nginx before a colour may take users: both lists and both searches.
SMOKE_CHECKS = (
    SmokeCheck("/mark/"),
    SmokeCheck("/model/"),
    SmokeCheck("/search/part/", '{"page": 1}'),
    SmokeCheck("/fastapi/search/part/", '{"page": 1}'),
)


def published_ports_to_release(nginx: Service | None) -> list[int]:
    """A stack from before the socket holder: its nginx publishes the public port(s) itself, and the holder
    could not bind them. deploy unpublishes them first (the one update that closes the port)."""
    if nginx is None:
        return []
    return [port.target for port in nginx.published_ports]


def tls_secrets_in_use(nginx: Service | None) -> tuple[str, str] | None:
    """The certificate and key secrets the nginx service mounts as tls_cert and tls_key, if it has both:
    a deploy without TLS_CERT_FILE/TLS_KEY_FILE keeps them, so `make up` does not drop HTTPS."""
    if nginx is None:
        return None
    by_file = {ref.file_name: ref.secret_name for ref in nginx.secrets}
    cert, key = by_file.get("tls_cert", ""), by_file.get("tls_key", "")
    return (cert, key) if cert and key else None


def tls_secret_names(stack: str, certificate: bytes) -> tuple[str, str]:
    """A certificate's secrets are named by its hash: a secret cannot change in place, so a new certificate
    gets new names (and the nginx service an update)."""
    digest = hashlib.sha256(certificate).hexdigest()[:12]
    return f"{stack}_tls_cert_{digest}", f"{stack}_tls_key_{digest}"


def tls_files_problem(cert: str, key: str) -> str | None:
    if bool(cert) != bool(key):
        return "give both TLS_CERT_FILE and TLS_KEY_FILE, or neither"
    return None


def tls_pair_problem(cert: str, key: str, *, cert_public: str, key_public: str) -> str | None:
    """Whether the key belongs to the certificate: both public keys, as openssl prints them, are the same."""
    if not cert_public.strip() or cert_public.strip() != key_public.strip():
        return f"TLS_KEY_FILE {key} is not the key of the certificate in TLS_CERT_FILE {cert}"
    return None


def django_public_host(env: Sequence[str]) -> str:
    """A host name Django accepts, for checks that go through Nginx: the first of DJANGO_ALLOWED_HOSTS (with
    a real domain configured Django refuses Host: 127.0.0.1); "*" or nothing gives localhost, and
    ".example.com" (a domain and its subdomains) gives example.com."""
    hosts = next((item.split("=", 1)[1] for item in env if item.startswith("DJANGO_ALLOWED_HOSTS=")), "")
    first = hosts.split(",", 1)[0].removeprefix(".")
    return "localhost" if first in ("", "*") else first
