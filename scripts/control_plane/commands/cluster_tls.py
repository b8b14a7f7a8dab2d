"""The cluster's TLS files (`cluster up`'s "TLS files" step) in .cache/cluster/tls/: the CA (kept; key mode 0600)
and the registry's certificate, issued again only when decisions/cluster.py's certificate_problem finds one
(missing, not the CA's, expiring within 30 days, not the key's, or lacking a name). openssl runs through the
context's other runner, each command printed."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from scripts.control_plane.decisions import cluster
from scripts.control_plane.decisions.cluster import CertificateFacts
from scripts.control_plane.programs import Programs
from scripts.control_plane.runbook import Failure, Runbook

CA_KEY = "rsa:3072"
CA_SUBJECT = "/CN=partscat cluster CA"
CA_DAYS = 3650
CERT_DAYS = 825


@dataclass(frozen=True)
class TlsFiles:
    directory: Path

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def ca_crt(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def key(self) -> Path:
        return self.directory / "registry.key"

    @property
    def crt(self) -> Path:
        return self.directory / "registry.crt"

    @property
    def csr(self) -> Path:
        return self.directory / "registry.csr"


def _filled(path: Path) -> bool:
    """`[ -s FILE ]`."""
    return path.is_file() and path.stat().st_size > 0


@contextmanager
def _umask(mask: int) -> Iterator[None]:
    """openssl writes its keys private from the start (`umask 077` in the bash's subshell)."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def certificate_facts(programs: Programs, files: TlsFiles) -> CertificateFacts:
    """What openssl says of the registry's certificate beside the CA (reads only)."""
    if not (_filled(files.crt) and _filled(files.key)):
        return CertificateFacts(present=False)
    crt, key = str(files.crt), str(files.key)
    verify = programs.read(["openssl", "verify", "-CAfile", str(files.ca_crt), crt])
    checkend = programs.read(
        ["openssl", "x509", "-in", crt, "-noout", "-checkend", str(cluster.CERT_MIN_VALID_SECONDS)]
    )
    cert_public = programs.read(["openssl", "x509", "-in", crt, "-noout", "-pubkey"])
    key_public = programs.read(["openssl", "pkey", "-in", key, "-pubout"])
    names = programs.read(["openssl", "x509", "-in", crt, "-noout", "-ext", "subjectAltName"])
    return CertificateFacts(
        present=True,
        signed_by_ca=verify.returncode == 0,
        valid_long_enough=checkend.returncode == 0,
        matches_key=cert_public.returncode == 0
        and key_public.returncode == 0
        and bool(cert_public.stdout.strip())
        and cert_public.stdout.strip() == key_public.stdout.strip(),
        names=names.stdout if names.returncode == 0 else "",
    )


def make_tls(programs: Programs, runbook: Runbook, files: TlsFiles) -> set[Path]:
    """Make what is missing or due; the files a dry run would have written are returned (their content is not
    known yet)."""
    if shutil.which("openssl") is None:
        raise Failure("openssl is needed for the registry's certificate")
    dry_run = programs.dry_run
    if not dry_run:
        files.directory.mkdir(parents=True, exist_ok=True)
        files.directory.chmod(0o700)
    pending: set[Path] = set()
    with _umask(0o077):
        ca_new = not (_filled(files.ca_key) and _filled(files.ca_crt))
        if ca_new:
            runbook.log(f"making the cluster's CA in {files.directory}")
            programs.change(
                [
                    "openssl", "req", "-x509", "-new", "-newkey", CA_KEY, "-nodes", "-sha256",
                    "-days", str(CA_DAYS), "-subj", CA_SUBJECT, "-keyout", str(files.ca_key), "-out", str(files.ca_crt),
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                ]
            )  # fmt: skip
            pending |= {files.ca_key, files.ca_crt}
            if not dry_run:
                files.crt.unlink(missing_ok=True)
        facts = CertificateFacts(present=False, ca_new=True) if ca_new else certificate_facts(programs, files)
        problem = cluster.certificate_problem(facts)
        if problem is not None:
            runbook.log(f"issuing the registry's certificate (DNS:{cluster.REGISTRY_HOST}, IP:127.0.0.1): {problem}")
            programs.change(
                [
                    "openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cluster.REGISTRY_HOST}",
                    "-keyout", str(files.key), "-out", str(files.csr),
                ]
            )  # fmt: skip
            programs.change(
                [
                    "openssl", "x509", "-req", "-in", str(files.csr), "-CA", str(files.ca_crt),
                    "-CAkey", str(files.ca_key), "-set_serial", f"0x{secrets.token_hex(16)}",
                    "-days", str(CERT_DAYS), "-sha256", "-out", str(files.crt), "-extfile", "/dev/stdin",
                ],
                stdin_text=cluster.certificate_extensions(),
                note="extensions on stdin",
            )  # fmt: skip
            pending |= {files.key, files.crt}
            if not dry_run:
                files.csr.unlink(missing_ok=True)
    if not dry_run:
        for path, mode in ((files.ca_key, 0o600), (files.key, 0o600), (files.ca_crt, 0o644), (files.crt, 0o644)):
            path.chmod(mode)
        # The registry runs as its own user and reads its key.
        os.chown(files.key, cluster.REGISTRY_UID, cluster.REGISTRY_UID)
    return pending if dry_run else set()
