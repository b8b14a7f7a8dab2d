"""The running stack as `make bench` reaches it: requests through Nginx (as the edge's operator where only an
operator gets what is measured), SQL and seeding inside its tasks, and the checks before anything is measured."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from scripts.bench.commands import ROOT, checked, log, run_command, shown
from scripts.bench.results import DEFAULT_PROFILE, SEARCHES

SEED_SCRIPT = ROOT / "scripts" / "seed.sh"
FIXED_PATH = "/bench/fixed"
FIXED_BODY = b'{"status":"ok"}'
# Served by Nginx's Lua alone; the fixed answer's stand-in where the running Nginx predates /bench/fixed.
FIXED_FALLBACK_PATH = "/nginx-healthz"
PATHS = {
    "django": "/search/part/",
    "fastapi": "/fastapi/search/part/",
    "django-healthz": "/healthz",
    "fastapi-healthz": "/fastapi/healthz",
}
# The edge's operator header (nginx/lua/edge_operator.lua) and the variable wrk.lua reads it from.
OPERATOR_HEADER = "X-Edge-Operator-Token"
OPERATOR_ENV = "EDGE_OPERATOR_TOKEN"
# X-Cache of a search answered without the response cache: bypassed, or the cache switched off.
UNCACHED = ("BYPASS", "OFF")
# Database connections left free beside pgbench's clients, the apps' pools and the superuser reserve.
PGBENCH_SPARE_CONNECTIONS = 3


@dataclass
class Stack:
    """Names of the stack's services (from the control plane's bench-target, via make_bench.py) and how to reach it."""

    base_url: str
    host: str
    django_service: str
    fastapi_service: str
    nginx_service: str
    postgres_service: str
    stack_env: dict[str, str]
    operator_token: str = ""

    def container(self, service: str) -> str:
        out = checked(["docker", "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={service}"])
        ids = out.split()
        if not ids:
            raise RuntimeError(f"no running task of {service} on this node")
        return ids[0]

    def psql(self, sql: str, *, role: str = "POSTGRES_APP_ROLE") -> str:
        """SQL inside the postgres task, through its socket, as one of the stack's roles."""
        container = self.container(self.postgres_service)
        script = f'exec psql -X -q -At -v ON_ERROR_STOP=1 -U "${role}" -d "$POSTGRES_DB" -c "$0"'
        return checked(["docker", "exec", container, "sh", "-c", script, sql], timeout=1800).strip()

    def request(
        self, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        """Status, body and headers (names in lower case) of one request through Nginx."""
        request = urllib.request.Request(  # noqa: S310 (the stack's own http:// address)
            self.base_url + path,
            data=body,
            headers={"Host": self.host, **({"Content-Type": "application/json"} if body else {}), **(headers or {})},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=60) as response:
                return response.status, response.read(), {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as error:
            return error.code, error.read(), {k.lower(): v for k, v in error.headers.items()}

    def get(self, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        status, answer, _headers = self.request(path, body, headers)
        return status, answer

    def operator_headers(self) -> dict[str, str]:
        return {OPERATOR_HEADER: self.operator_token} if self.operator_token else {}

    def operator_env(self) -> dict[str, str]:
        """wrk's environment: the operator token for wrk.lua's operator=1 (never on its command line)."""
        return {OPERATOR_ENV: self.operator_token} if self.operator_token else {}

    def operator_token_read(self) -> str:
        """The edge's operator token, read inside the Nginx task from EDGE_OPERATOR_TOKEN_FILE ("" without it)."""
        container = self.container(self.nginx_service)
        script = 'file="${EDGE_OPERATOR_TOKEN_FILE:-}"; if [ -n "$file" ]; then cat "$file"; fi'
        code, out, err = run_command(["docker", "exec", container, "sh", "-c", script], timeout=60)
        if code != 0:
            raise RuntimeError(f"cannot read the operator token in {container}: {err.strip()[-300:]}")
        return out.strip()

    def check(self) -> str:
        """The operator token read, the probes and a bypassed search checked through Nginx; the path of Nginx's
        fixed answer to measure (choose_fixed_path)."""
        self.operator_token = self.operator_token_read()
        if not self.operator_token:
            log(
                "the Nginx task has no operator token (EDGE_OPERATOR_TOKEN_FILE): the bypassed searches and the "
                "/healthz ceilings need one on an edge that keeps them from the public"
            )
        for target in ("django-healthz", "fastapi-healthz"):
            status, body = self.get(PATHS[target], headers=self.operator_headers())
            if status != 200:
                raise RuntimeError(f"{PATHS[target]} answered {status} through Nginx: {body[:200]!r}")
        # The bypassed points must measure searches without the cache: the edge passes no-cache from operators only.
        for target in SEARCHES:
            headers = {"Cache-Control": "no-cache", **self.operator_headers()}
            status, body, answer_headers = self.request(PATHS[target], b"{}", headers)
            cache = answer_headers.get("x-cache", "")
            if status != 200 or cache not in UNCACHED:
                raise RuntimeError(
                    f"a search with Cache-Control: no-cache through Nginx answered {status} with X-Cache "
                    f"{cache or '(none)'}, not one of {', '.join(UNCACHED)}: the bypassed points would measure the "
                    f"cache ({body[:200]!r})"
                )
        return self.choose_fixed_path()

    def choose_fixed_path(self) -> str:
        status, body = self.get(FIXED_PATH)
        if status == 200 and body.strip() == FIXED_BODY:
            return FIXED_PATH
        status, _body = self.get(FIXED_FALLBACK_PATH)
        if status != 200:
            raise RuntimeError(f"neither {FIXED_PATH} nor {FIXED_FALLBACK_PATH} answers 200 through Nginx")
        log(
            f"the running Nginx has no {FIXED_PATH} (nginx.conf newer than its task: scripts/edge-config.sh "
            f"applies it); measuring its Lua-served {FIXED_FALLBACK_PATH} as the fixed answer instead"
        )
        return FIXED_FALLBACK_PATH

    def visible_parts(self) -> int:
        status, body = self.get(PATHS["fastapi"], b"{}", {"Cache-Control": "no-cache", **self.operator_headers()})
        if status != 200:
            raise RuntimeError(f"search answered {status}: {body[:200]!r}")
        return int(json.loads(body)["count"])

    def seed(self, *, parts: int, seed: int, profile: str = DEFAULT_PROFILE) -> float:
        """The catalog replaced by ``parts`` parts of ``seed`` and ``profile`` (scripts/seed.sh), then VACUUM
        (FULL, ANALYZE)."""
        started = time.monotonic()
        command = seed_command(parts=parts, seed=seed, profile=profile)
        log(f"seeding {parts} parts ({profile} profile, seed {seed}): {shlex.join(command)}")
        subprocess.run(command, check=True, env={**os.environ, **self.stack_env})
        # Fresh statistics and visibility maps: the plans do not depend on when autovacuum last came by. Every
        # table the owner owns (part and whatever tables the search keeps beside it); system catalogs are skipped.
        # FULL: a --clear deletes the previous catalog's rows (DELETE, not TRUNCATE: services.catalog_clear), and a
        # plain VACUUM leaves their pages in the tables and indexes. 10 000 parts seeded after the realistic
        # million kept part_totals' 900 000-group pages, and FastAPI's database path took 10-18 ms a search
        # instead of 1.5 (2026-12-06): each size is measured compact, as a catalog of that size would be.
        self.psql("VACUUM (FULL, ANALYZE)", role="POSTGRES_OWNER_ROLE")
        # Then a plain VACUUM for the visibility maps: FULL rewrites the tables and leaves every page "not all
        # visible", so each index-only scan fetched its rows from the heap (relallvisible was 0 after every
        # seed until 2026-12-07), which a catalog autovacuum keeps never does.
        self.psql("VACUUM", role="POSTGRES_OWNER_ROLE")
        return time.monotonic() - started

    def pgbench_clients(self, wanted: int) -> int:
        """``wanted``, or as many as max_connections leaves beside the connections already open."""
        free = int(
            self.psql(
                "SELECT current_setting('max_connections')::int"
                " - current_setting('superuser_reserved_connections')::int"
                " - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"
            )
        )
        return max(1, min(wanted, free - PGBENCH_SPARE_CONNECTIONS))


def seed_arguments(*, parts: int, seed: int, profile: str) -> list[str]:
    """scripts/seed.sh's arguments for a data profile; the task profile is seed.sh's default and is not named."""
    arguments = ["--clear", "--parts", str(parts), "--seed", str(seed)]
    return arguments if profile == DEFAULT_PROFILE else [*arguments, "--profile", profile]


def seed_command(*, parts: int, seed: int, profile: str) -> list[str]:
    return ["bash", str(SEED_SCRIPT), *seed_arguments(parts=parts, seed=seed, profile=profile)]


def seed_shown(*, parts: int, seed: int, profile: str) -> str:
    """The seed command as env.md and --dry-run show it."""
    return shlex.join([shown(SEED_SCRIPT), *seed_arguments(parts=parts, seed=seed, profile=profile)])
