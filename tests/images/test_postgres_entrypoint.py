"""scripts/images/postgres-entrypoint.sh, run as the image runs it, on clusters of its own: the upgrade of a volume
made before the role split, password rotation on restart, and refusal of an incomplete configuration.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import errors

from tests.servers import (
    APP_ROLE,
    OWNER_ROLE,
    POSTGRES_ENTRYPOINT,
    SUPERUSER,
    Postgres,
    free_port,
    manage,
    pg_bin,
    start_postgres,
)

# What the stack ran before the role split: the apps logged in as the bootstrap superuser.
LEGACY_SUPERUSER = "partscat"
LEGACY_PASSWORD = "the-old-shared-password"  # noqa: S105 (a throwaway cluster's)
LEGACY_DB = "partscat"


@pytest.fixture
def base() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="parts-entrypoint-"))
    as_user = []
    if os.geteuid() == 0:
        shutil.chown(path, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    yield path
    subprocess.run([*as_user, pg_bin("pg_ctl"), "-D", str(path / "data"), "-m", "immediate", "stop"], check=False)
    shutil.rmtree(path, ignore_errors=True)


def _legacy_volume(base: Path) -> None:
    """A data directory as the old entrypoint left it: bootstrap superuser `partscat` with a password, which
    migrated and seeded the catalog over TCP, so it owns every table."""
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    password_file = base / "legacy_password"
    password_file.write_text(LEGACY_PASSWORD)
    password_file.chmod(0o644)
    data, port = base / "data", free_port()
    subprocess.run(
        [
            *(*as_user, pg_bin("initdb"), "-D", str(data)),
            *(f"--username={LEGACY_SUPERUSER}", f"--pwfile={password_file}", "--encoding=UTF8", "--locale=C.UTF-8"),
            *("--auth-local=trust", "--auth-host=scram-sha-256"),
        ],
        check=True,
        capture_output=True,
    )
    with (data / "pg_hba.conf").open("a") as hba:
        hba.write("host all all all scram-sha-256\n")
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [*as_user, pg_bin("pg_ctl"), "-D", str(data)]
    log = str(base / "legacy.log")
    subprocess.run([*pg_ctl, "-o", options, "-l", log, "-w", "start"], check=True, capture_output=True)
    try:
        superuser = f"host={base} port={port} user={LEGACY_SUPERUSER} dbname=postgres"
        with psycopg.connect(superuser, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {LEGACY_DB}")
        url = f"postgres://{LEGACY_SUPERUSER}:{LEGACY_PASSWORD}@127.0.0.1:{port}/{LEGACY_DB}"
        manage(url, "migrate", "--no-input", "-v", "0")
        manage(url, "seed_parts", "--parts", "30", "--seed", "2")
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], check=True, capture_output=True)


def _legacy_superuser(server: Postgres) -> str:
    return f"host={server.base} port={server.port} user={LEGACY_SUPERUSER} dbname={LEGACY_DB}"


def test_a_volume_from_before_the_role_split_is_taken_over(base: Path) -> None:
    _legacy_volume(base)

    server = start_postgres(base, dbname=LEGACY_DB, extra_env={"POSTGRES_LEGACY_SUPERUSERS": LEGACY_SUPERUSER})
    try:
        log = server.log.read_text()
        assert f"bootstrap superuser is '{LEGACY_SUPERUSER}'" in log
        # The old login stays a superuser (PostgreSQL cannot demote a bootstrap superuser), but it lost its
        # password and the network refuses it.
        old_url = f"postgres://{LEGACY_SUPERUSER}:{LEGACY_PASSWORD}@127.0.0.1:{server.port}/{LEGACY_DB}"
        with pytest.raises(psycopg.OperationalError, match=r"pg_hba\.conf rejects"):
            psycopg.connect(old_url)
        with psycopg.connect(_legacy_superuser(server)) as conn:
            assert conn.execute(
                "SELECT rolsuper, rolpassword IS NULL FROM pg_authid WHERE rolname = %s", [LEGACY_SUPERUSER]
            ).fetchone() == (True, True)
        # $POSTGRES_USER now exists too, so local administration (`psql -U "$POSTGRES_USER"`) works as on a
        # new volume; the network refuses it like every superuser.
        assert server.psql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == "t"
        with pytest.raises(psycopg.OperationalError, match=r"pg_hba\.conf rejects"):
            psycopg.connect(f"host=127.0.0.1 port={server.port} user={SUPERUSER} dbname={LEGACY_DB}")
        with psycopg.connect(_legacy_superuser(server)) as conn:
            owners = conn.execute(
                "SELECT DISTINCT relowner::regrole::text FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                "UNION SELECT DISTINCT stxowner::regrole::text FROM pg_statistic_ext "
                "UNION SELECT datdba::regrole::text FROM pg_database WHERE datname = current_database()"
            ).fetchall()
        assert owners == [(OWNER_ROLE,)]

        # The apps' role reads and writes the old rows (and sequences); the owner migrates and alters.
        manage(server.app_url(LEGACY_DB), "seed_parts", "--parts", "10", "--seed", "3")
        with psycopg.connect(server.app_url(LEGACY_DB)) as app:
            assert app.execute("SELECT count(*) FROM part").fetchone() == (40,)
            with pytest.raises(errors.InsufficientPrivilege):
                app.execute("ALTER TABLE part ADD COLUMN intruder integer")
        assert "No migrations to apply" in manage(server.owner_url(LEGACY_DB), "migrate", "--no-input")
        with psycopg.connect(server.owner_url(LEGACY_DB)) as owner:
            owner.execute("ALTER TABLE part ADD COLUMN supplier text")
            owner.rollback()

        # The next start connects as $POSTGRES_USER and finds nothing left to change.
        server.stop()
        server.start()
        assert server.log.read_text().count(f"creating the superuser {SUPERUSER}") == 1
        with psycopg.connect(server.app_url(LEGACY_DB)) as app:
            assert app.execute("SELECT count(*) FROM part").fetchone() == (40,)
    finally:
        server.stop()


def test_a_restart_applies_a_new_password(base: Path) -> None:
    server = start_postgres(base)
    try:
        old_url = server.app_url("catalog")
        server.stop()
        server.app_password_file.write_text("a-rotated-app-password")
        server.start()
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(old_url)
        with psycopg.connect(server.app_url("catalog")) as conn:
            assert conn.execute("SELECT current_user").fetchone() == (APP_ROLE,)
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"POSTGRES_APP_PASSWORD_FILE": "/nonexistent/secret"}, "POSTGRES_APP_PASSWORD_FILE=/nonexistent/secret"),
        ({"POSTGRES_APP_ROLE": OWNER_ROLE}, "must differ"),
        ({"POSTGRES_OWNER_ROLE": 'own"er'}, "POSTGRES_OWNER_ROLE must be a lower-case identifier"),
        ({"POSTGRES_APP_ROLE": "postgres"}, "cannot also be the owner or app role"),
    ],
)
def test_an_incomplete_configuration_is_refused_before_anything_starts(
    base: Path, change: dict[str, str], message: str
) -> None:
    secret = base / "secret"
    secret.write_text("x" * 20)
    env = {
        **os.environ,
        "PGDATA": str(base / "data"),
        "POSTGRES_OWNER_ROLE": OWNER_ROLE,
        "POSTGRES_APP_ROLE": APP_ROLE,
        "POSTGRES_OWNER_PASSWORD_FILE": str(secret),
        "POSTGRES_APP_PASSWORD_FILE": str(secret),
        **change,
    }
    result = subprocess.run(["sh", str(POSTGRES_ENTRYPOINT)], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert message in result.stderr
    assert not (base / "data").exists()


def test_the_server_runs_no_parallel_workers_and_no_jit(postgres: Postgres) -> None:
    # Many short searches at once on few cores (postgres-entrypoint.sh): both cost throughput under load.
    workers = postgres.psql("SELECT current_setting('max_parallel_workers_per_gather')")
    assert (workers, postgres.psql("SELECT current_setting('jit')")) == ("0", "off")
