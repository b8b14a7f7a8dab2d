"""decisions/edge.py: ports an old nginx publishes, the TLS secrets kept or named, the smoke checks' host."""

from __future__ import annotations

import hashlib

import pytest

from scripts.control_plane.decisions.edge import (
    SMOKE_CHECKS,
    django_public_host,
    published_ports_to_release,
    tls_files_problem,
    tls_pair_problem,
    tls_secret_names,
    tls_secrets_in_use,
)
from scripts.control_plane.records import PublishedPort, SecretRef, Service


def nginx(**fields: object) -> Service:
    return Service(id="n", name="partscat_nginx", image="nginx:1", **fields)  # type: ignore[arg-type]


def test_an_nginx_from_before_the_socket_holder_has_its_ports_released() -> None:
    ports = (PublishedPort(8080, 8080, "tcp", "host"), PublishedPort(8443, 8443, "tcp", "host"))
    assert published_ports_to_release(nginx(published_ports=ports)) == [8080, 8443]
    assert published_ports_to_release(nginx()) == []
    assert published_ports_to_release(None) == []


def test_tls_secrets_are_kept_only_as_a_pair() -> None:
    both = (SecretRef("tls_cert", "partscat_tls_cert_a"), SecretRef("tls_key", "partscat_tls_key_a"))
    assert tls_secrets_in_use(nginx(secrets=both)) == ("partscat_tls_cert_a", "partscat_tls_key_a")
    assert tls_secrets_in_use(nginx(secrets=both[:1])) is None
    assert tls_secrets_in_use(None) is None


def test_tls_secrets_are_named_by_the_certificate_hash() -> None:
    digest = hashlib.sha256(b"PEM").hexdigest()[:12]
    assert tls_secret_names("partscat", b"PEM") == (f"partscat_tls_cert_{digest}", f"partscat_tls_key_{digest}")


def test_tls_files_come_in_pairs() -> None:
    assert tls_files_problem("c.pem", "") == "give both TLS_CERT_FILE and TLS_KEY_FILE, or neither"
    assert tls_files_problem("", "k.pem") is not None
    assert tls_files_problem("c.pem", "k.pem") is None


def test_tls_pair_problem_compares_the_public_keys() -> None:
    assert tls_pair_problem("c", "k", cert_public="KEY\n", key_public="KEY") is None
    assert tls_pair_problem("c", "k", cert_public="A", key_public="B") == (
        "TLS_KEY_FILE k is not the key of the certificate in TLS_CERT_FILE c"
    )
    assert tls_pair_problem("c", "k", cert_public="", key_public="") is not None


@pytest.mark.parametrize(
    ("env", "host"),
    [
        (["DJANGO_ALLOWED_HOSTS=parts.example.com,localhost"], "parts.example.com"),
        (["DJANGO_ALLOWED_HOSTS=.example.com"], "example.com"),
        (["DJANGO_ALLOWED_HOSTS=*"], "localhost"),
        (["DJANGO_ALLOWED_HOSTS="], "localhost"),
        (["OTHER=x"], "localhost"),
    ],
)
def test_django_public_host(env: list[str], host: str) -> None:
    assert django_public_host(env) == host


def test_the_smoke_checks_read_both_lists_and_both_searches() -> None:
    assert [(check.path, check.json_body) for check in SMOKE_CHECKS] == [
        ("/mark/", None),
        ("/model/", None),
        ("/search/part/", '{"page": 1}'),
        ("/fastapi/search/part/", '{"page": 1}'),
    ]
