"""The API token commands, run for real: create prints the token last, ensure is idempotent and rotates."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.jobs.api.conftest import sql
from tests.servers import APP_DIR, Postgres, manage, service_env

SEED = {"kind": "seed", "params": {"parts": 1}}


def test_create_prints_the_token_on_its_last_line_and_stores_only_its_digest(
    api_database_url: str, api_sql: Postgres, api: httpx.Client
) -> None:
    output = manage(api_database_url, "create_api_token", "tests-create")

    lines = output.splitlines()
    token = lines[-1]
    assert output.endswith(token + "\n")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert lines[:-1] == [f'Created API token "tests-create" (prefix {token[:8]}). It is not stored; keep it now:']
    assert sql(api_sql, "SELECT prefix || ' ' || digest FROM api_token WHERE name = 'tests-create'") == (
        f"{token[:8]} {hashlib.sha256(token.encode()).hexdigest()}"
    )
    assert api.post("/api/jobs/", json=SEED, headers={"Authorization": f"Bearer {token}"}).status_code == 202

    with pytest.raises(subprocess.CalledProcessError) as refused:
        manage(api_database_url, "create_api_token", "tests-create")
    assert 'an API token named "tests-create" exists already' in refused.value.stderr

    listing = manage(api_database_url, "list_api_tokens")
    assert listing.splitlines()[0].split() == ["NAME", "PREFIX", "CREATED", "LAST", "USED", "STATE"]
    line = next(line for line in listing.splitlines() if line.startswith("tests-create "))
    assert line.split()[1] == token[:8]
    assert line.split()[-1] == "live"
    assert token not in listing


def test_ensure_creates_then_does_nothing_then_rotates(
    api_database_url: str, api_sql: Postgres, api: httpx.Client, tmp_path: Path
) -> None:
    first, second = "first-secret-" + "a" * 30, "second-secret-" + "b" * 30
    secret = tmp_path / "jobs_api_token"
    secret.write_text(first + "\n")  # a trailing newline, as `echo` leaves it
    ensure = ("ensure_api_token", "tests-deploy", "--token-file", str(secret))

    created = manage(api_database_url, *ensure)
    again = manage(api_database_url, *ensure)
    secret.write_text(second)
    rotated = manage(api_database_url, *ensure)

    assert created == f'Created API token "tests-deploy" (prefix first-se) from {secret}.\n'
    assert again == 'API token "tests-deploy" (prefix first-se) has this token already; nothing to do.\n'
    assert rotated == (
        f'Replaced the digest of API token "tests-deploy" (prefix first-se -> second-s) from {secret}; '
        "the old token no longer works.\n"
    )
    for output in (created, again, rotated):
        assert first not in output and second not in output
    assert sql(api_sql, "SELECT count(*) || ' ' || min(digest) FROM api_token WHERE name = 'tests-deploy'") == (
        f"1 {hashlib.sha256(second.encode()).hexdigest()}"
    )
    assert api.post("/api/jobs/", json=SEED, headers={"Authorization": f"Bearer {first}"}).status_code == 401
    assert api.post("/api/jobs/", json=SEED, headers={"Authorization": f"Bearer {second}"}).status_code == 202


def test_ensure_refuses_a_short_or_missing_token(api_database_url: str, tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_text("abc")
    for path in (short, tmp_path / "missing"):
        with pytest.raises(subprocess.CalledProcessError) as refused:
            manage(api_database_url, "ensure_api_token", "tests-bad", "--token-file", str(path))
        assert str(path) in refused.value.stderr
        assert "abc" not in refused.value.stdout


def test_revoke_says_what_it_did_and_is_idempotent(api_database_url: str, api: httpx.Client) -> None:
    token = manage(api_database_url, "create_api_token", "tests-revoke").splitlines()[-1]

    revoked = manage(api_database_url, "revoke_api_token", "tests-revoke")
    again = manage(api_database_url, "revoke_api_token", "tests-revoke")

    assert re.fullmatch(rf'Revoked API token "tests-revoke" \(prefix {re.escape(token[:8])}\) at \S+\.\n', revoked)
    assert again == revoked.replace("Revoked API token", "API token").replace(") at", ") was already revoked at")
    assert api.post("/api/jobs/", json=SEED, headers={"Authorization": f"Bearer {token}"}).status_code == 403
    listing = manage(api_database_url, "list_api_tokens")
    assert "revoked" in next(line for line in listing.splitlines() if line.startswith("tests-revoke "))
    with pytest.raises(subprocess.CalledProcessError) as unknown:
        manage(api_database_url, "revoke_api_token", "tests-nobody")
    assert 'no API token is named "tests-nobody"' in unknown.value.stderr


def test_ensure_from_tasks_starting_together_makes_one_token(
    api_database_url: str, api_sql: Postgres, tmp_path: Path
) -> None:
    """Every django task of a deploy runs ensure_api_token as it starts; none may fail, one token results."""
    secret = tmp_path / "jobs_api_token"
    secret.write_text("together-" + "c" * 40)
    env = {**os.environ, **service_env(api_database_url)}
    command = [sys.executable, "manage.py", "ensure_api_token", "tests-together", "--token-file", str(secret)]
    runs = [
        subprocess.Popen(command, cwd=APP_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]

    assert [run.returncode for run in runs] == [0] * 4, outputs
    said = sorted(out.split(" (prefix")[0] for out, _ in outputs)
    assert said == ['API token "tests-together"'] * 3 + ['Created API token "tests-together"']
    assert sql(api_sql, "SELECT count(*) FROM api_token WHERE name = 'tests-together'") == "1"
