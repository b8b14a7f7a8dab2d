"""commands/cluster_tls.py with the real openssl: the CA and the registry's certificate it makes pass its own
check, a second run issues nothing, and a certificate for the wrong name is issued again."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from scripts.control_plane.commands import cluster_tls
from scripts.control_plane.commands.cluster_tls import TlsFiles, certificate_facts, make_tls
from scripts.control_plane.decisions.cluster import certificate_problem
from scripts.control_plane.docker import subprocess_runner
from scripts.control_plane.programs import Programs
from scripts.control_plane.runbook import Runbook


def programs(err: io.StringIO, *, dry_run: bool = False) -> Programs:
    runbook = Runbook("cluster.sh", err=err)
    return Programs(subprocess_runner, runbook, changes=[], clock=lambda: 0.0, dry_run=dry_run)


@pytest.fixture(autouse=True)
def no_chown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "chown", lambda *_args: None)
    # A 3072-bit key takes seconds to make; the shape of the files is what is tested.
    monkeypatch.setattr(cluster_tls, "CA_KEY", "rsa:2048")


def test_made_once_then_kept(tmp_path: Path) -> None:
    files = TlsFiles(tmp_path / "tls")
    err = io.StringIO()
    make_tls(programs(err), Runbook("cluster.sh", err=err), files)
    assert "making the cluster's CA" in err.getvalue()
    assert certificate_problem(certificate_facts(programs(err), files)) is None
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.ca_key.stat().st_mode) == 0o600
    assert not files.csr.exists()
    certificate = files.crt.read_bytes()

    again = io.StringIO()
    make_tls(programs(again), Runbook("cluster.sh", err=again), files)
    assert "issuing" not in again.getvalue() and "making" not in again.getvalue()
    assert files.crt.read_bytes() == certificate


def test_a_certificate_of_another_ca_is_issued_again(tmp_path: Path) -> None:
    err = io.StringIO()
    first, second = TlsFiles(tmp_path / "a"), TlsFiles(tmp_path / "b")
    make_tls(programs(err), Runbook("cluster.sh", err=err), first)
    make_tls(programs(err), Runbook("cluster.sh", err=err), second)
    second.crt.write_bytes(first.crt.read_bytes())
    second.key.write_bytes(first.key.read_bytes())
    log = io.StringIO()
    make_tls(programs(log), Runbook("cluster.sh", err=log), second)
    assert "issuing the registry's certificate (DNS:registry.partscat.test, IP:127.0.0.1): the CA did not sign it" in (
        log.getvalue()
    )
    assert certificate_problem(certificate_facts(programs(log), second)) is None


def test_a_dry_run_writes_nothing(tmp_path: Path) -> None:
    files = TlsFiles(tmp_path / "tls")
    err = io.StringIO()
    pending = make_tls(programs(err, dry_run=True), Runbook("cluster.sh", err=err), files)
    assert not files.directory.exists()
    assert pending == {files.ca_key, files.ca_crt, files.key, files.crt}
    assert err.getvalue().count("# dry run: not run") == 3
