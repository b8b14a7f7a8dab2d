"""`make bench`: both searches and their ceilings, measured on the running stack through Nginx.

Usage (scripts/bench.sh fills the stack's names in; see scripts/README.md):
    python -m scripts.bench.run measure --parts 10000 1000000 --runs 3 --duration 10 ...
    python -m scripts.bench.run summarize bench-results/<run>   # summary.md, plots and index from results.json
    python -m scripts.bench.run index                           # bench-results/README.md
    python -m scripts.bench.run prune [--keep N]                # raw/ only for the N newest runs (2)
    python -m scripts.bench.run workload --out DIR              # the bodies file and pgbench script of a seed

For each data profile and size: seed the catalog through the stack (scripts/seed.sh --clear, reproducible),
VACUUM (FULL, ANALYZE), warm each search up, then for each connection count, RUNS rounds of: Django and FastAPI
searches alternating, cache bypassed, then on, then on over the long-tail workload; then the ceilings (Nginx's
fixed answer, each service's /healthz, pgbench with the FastAPI SQL). So drift over a long run reaches every
target alike. Round r draws its bodies from the r-th workload seed (cycling), so the spread of the runs is
also the spread across workload seeds. At the end the catalog holds what `make up` seeds again.

The bypassed searches and the /healthz ceilings go through the edge as an operator: Nginx passes a search's
Cache-Control, and serves the apps' probes, only to a request with its operator token (nginx/lua/
edge_operator.lua). The runner reads the token inside the Nginx task and hands it to wrk in the environment
(EDGE_OPERATOR_TOKEN), never on a command line that the raw results record; before measuring, it checks that
a bypassed search really was answered without the cache.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.bench.pgbench_script import pgbench_script
from scripts.bench.results import (
    CACHE_LABELS,
    CACHE_MODES,
    CEILINGS,
    DECISION_PLOT,
    DEFAULT_PROFILE,
    LABELS,
    NGINX_FIXED_CAVEAT,
    RAW_KEPT,
    SEARCHES,
    CpuSample,
    Measured,
    Point,
    cpu_busy_percent,
    cpu_sample_parse,
    index_markdown,
    load_points,
    pgbench_log_latencies_us,
    pgbench_parse,
    prune_raw,
    summary_markdown,
    wrk_parse,
)
from scripts.bench.workload import (
    DEFAULT_DISTINCT,
    LONG_TAIL_DISTINCT,
    LONG_TAIL_EXPONENT,
    MAX_BODY_SHARE,
    ZIPF_EXPONENT,
    WorkloadBody,
    bodies_read,
    bodies_write,
    vocabulary_load,
    workload_generate,
    workload_shape,
)

ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = ROOT / "bench-results"
WRK_SCRIPT = ROOT / "scripts" / "bench" / "wrk.lua"
SEED_SCRIPT = ROOT / "scripts" / "seed.sh"
RECORDER = ROOT / "scripts" / "bench" / "recorder.py"
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
# wrk gives up on an answer after this; above the edge's queue (2 s) plus two statement timeouts (5 s each).
WRK_TIMEOUT_S = 20
# The FastAPI service's statement timeout (DB_STATEMENT_TIMEOUT_MS default), for pgbench's sessions too.
STATEMENT_TIMEOUT_MS = 5000
# Database connections left free beside pgbench's clients, the apps' pools and the superuser reserve.
PGBENCH_SPARE_CONNECTIONS = 3
PAUSE_S = 1.0  # between points: connections closed by the last point are gone before the next opens
SEED_SECONDS_PER_PART = 80e-6  # README: 1 000 000 parts took 59-79 s here; for the ETA only
# The server settings that shape every plan, recorded in env.md (scripts/explain_plans.py records the same).
PLAN_SETTINGS = (
    "max_connections",
    "shared_buffers",
    "work_mem",
    "effective_cache_size",
    "max_parallel_workers_per_gather",
    "jit",
    "random_page_cost",
)


def shown(path: Path) -> str:
    """A path as commands and logs show it: relative to the repository when it is inside."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def duration_text(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{seconds:02d}s"
    return f"{seconds}s"


def run_command(
    command: Sequence[str],
    *,
    stdin: Path | None = None,
    timeout: float = 600,
    env: dict[str, str] | None = None,
) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of a command (``stdin`` fed from a file; ``env`` added to the environment)."""
    environ = {**os.environ, **env} if env else None
    with stdin.open("rb") if stdin else open(os.devnull, "rb") as handle:
        done = subprocess.run(command, stdin=handle, capture_output=True, timeout=timeout, check=False, env=environ)
    return done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")


def checked(command: Sequence[str], *, timeout: float = 120) -> str:
    code, out, err = run_command(command, timeout=timeout)
    if code != 0:
        raise RuntimeError(f"{shlex.join(command)} exited {code}: {err.strip() or out.strip()}")
    return out


def cpu_sample() -> CpuSample:
    return cpu_sample_parse(Path("/proc/stat").read_text())


# The stack.


@dataclass
class Stack:
    """Names of the stack's services (from scripts/lib.sh, via scripts/bench.sh) and how to reach it."""

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


def _service_spec(service: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(checked(["docker", "service", "inspect", service, "--format", "{{json .Spec}}"]))
    return data


def _env_of(spec: dict[str, Any]) -> dict[str, str]:
    pairs = spec.get("TaskTemplate", {}).get("ContainerSpec", {}).get("Env") or []
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def worker_count(processes: Sequence[tuple[int, int, str]]) -> int:
    """Server workers among a task's (pid, parent pid, command line): Nginx's, or gunicorn's.

    gunicorn's workers are the leaves of the tree of processes that name gunicorn: the entrypoint shell that
    starts it names it too, and the master has the workers as children.
    """
    nginx = sum(1 for _pid, _ppid, args in processes if args.startswith("nginx: worker process"))
    if nginx:
        return nginx
    gunicorn = {pid: ppid for pid, ppid, args in processes if "gunicorn" in args}
    parents = set(gunicorn.values())
    return sum(1 for pid in gunicorn if pid not in parents)


def workers_of(container: str) -> int:
    out = checked(["docker", "top", container, "-eo", "pid,ppid,args"])
    rows = []
    for line in out.splitlines()[1:]:
        pid, ppid, args = line.split(None, 2)
        rows.append((int(pid), int(ppid), args))
    return worker_count(rows)


def stack_facts(stack: Stack) -> list[dict[str, str]]:
    """Per service: image, replicas asked and running, worker processes per task, the settings that size it."""
    facts = []
    for name in (stack.nginx_service, stack.django_service, stack.fastapi_service, stack.postgres_service):
        spec = _service_spec(name)
        env = _env_of(spec)
        running = checked(["docker", "service", "ps", name, "--filter", "desired-state=running", "-q"]).split()
        containers = checked(["docker", "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={name}"]).split()
        workers = [workers_of(container) for container in containers] if name != stack.postgres_service else []
        settings = {
            key: env[key]
            for key in (
                "WEB_CONCURRENCY",
                "DB_CONCURRENCY",
                "DB_STATEMENT_TIMEOUT_MS",
                "DB_QUEUE_WAIT_MS",
                "EDGE_PEER_CONCURRENCY",
                "EDGE_QUEUE_SECONDS",
            )
            if key in env
        }
        facts.append(
            {
                "service": name,
                "image": spec.get("TaskTemplate", {}).get("ContainerSpec", {}).get("Image", "?").split("@")[0],
                "replicas": str(spec.get("Mode", {}).get("Replicated", {}).get("Replicas", "?")),
                "running": str(len(running)),
                "workers": " + ".join(str(count) for count in workers) if workers else "-",
                "settings": ", ".join(f"{key}={value}" for key, value in settings.items()) or "-",
            }
        )
    return facts


def host_facts() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text()
    memory = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)

    def version(command: list[str]) -> str:
        try:
            _code, out, err = run_command(command, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return "?"
        text = (out + err).strip().splitlines()
        return text[0] if text else "?"

    return {
        "cpu": model.group(1).strip() if model else platform.processor() or "?",
        "cores": str(os.cpu_count()),
        "memory": f"{int(memory.group(1)) / 1024 / 1024:.1f} GiB" if memory else "?",
        "kernel": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "docker": version(["docker", "version", "--format", "{{.Server.Version}}"]),
        "wrk": version(["wrk", "-v"]).split(" [")[0],
        "python": platform.python_version(),
    }


def uncommitted_changes() -> list[str]:
    """Paths that differ from HEAD, results and the venv/cache links of a worktree aside."""
    out = checked(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", ".", ":!bench-results", ":!.venv", ":!.cache"]
    )
    return [line[3:] for line in out.splitlines() if line.strip()]


def git_facts() -> dict[str, str]:
    def git(*args: str) -> str:
        return checked(["git", "-C", str(ROOT), *args]).strip()

    changed = uncommitted_changes()
    return {
        "commit": git("rev-parse", "HEAD"),
        "short": git("rev-parse", "--short=7", "HEAD"),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "subject": git("log", "-1", "--format=%s"),
        "dirty": ", ".join(changed[:12]) + (" ..." if len(changed) > 12 else ""),
    }


# Points.


@dataclass
class Plan:
    parts: list[int]
    runs: int
    duration: int
    warmup: int
    connections: list[int]
    threads: int
    data_seed: int
    workload_seeds: list[int]
    distinct: int
    restore_parts: int
    restore_seed: int
    profiles: list[str] = field(default_factory=lambda: [DEFAULT_PROFILE])
    long_tail: int = LONG_TAIL_DISTINCT  # distinct bodies of the long-tail workload; 0: no long-tail points

    def cache_modes(self) -> tuple[str, ...]:
        return CACHE_MODES if self.long_tail else tuple(mode for mode in CACHE_MODES if mode != "long-tail")

    def workload_seed(self, run: int) -> int:
        """The workload seed of round ``run`` (1-based): the next seed each round, from the first again."""
        return self.workload_seeds[(run - 1) % len(self.workload_seeds)]

    def points_per_size(self) -> int:
        return len(self.connections) * self.runs * (len(SEARCHES) * len(self.cache_modes()) + len(CEILINGS))

    def total_points(self) -> int:
        return self.points_per_size() * len(self.parts) * len(self.profiles)


@dataclass
class Progress:
    total: int
    plan: Plan
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    point_seconds: float = 0.0  # wall time spent in points so far
    sizes_left: list[int] = field(default_factory=list)  # one entry per data size and profile still to seed

    def eta(self) -> float:
        left = self.total - self.done
        per_point = self.point_seconds / self.done if self.done else self.plan.duration + 3
        seeding = sum(parts * SEED_SECONDS_PER_PART + 10 for parts in self.sizes_left)
        warmups = len(self.sizes_left) * len(SEARCHES) * (self.plan.warmup + 2)
        return left * per_point + seeding + warmups

    def line(self, description: str, result: str) -> str:
        elapsed = time.monotonic() - self.started
        return (
            f"point {self.done}/{self.total} | {description} | {result} | "
            f"elapsed {duration_text(elapsed)}, ETA {duration_text(self.eta())}"
        )


class Bench:
    def __init__(self, *, stack: Stack, plan: Plan, out: Path, invocation: str) -> None:
        self.stack = stack
        self.plan = plan
        self.out = out
        self.invocation = invocation
        self.points: list[Point] = []
        self.meta: dict[str, Any] = {}
        self.touched = False  # whether this run changed the catalog
        # (profile, parts, seed) the catalog holds since this run seeded it
        self.seeded: tuple[str, int, int] | None = None
        self.fixed_path = FIXED_PATH
        # Per workload seed, of the profile being measured: the bodies files (usual and long tail) and the
        # pgbench script of the data size being measured (record_pgbench_script).
        self.bodies_files: dict[int, Path] = {}
        self.long_tail_files: dict[int, Path] = {}
        self.pgbench_files: dict[int, Path] = {}
        self.pgbench_problem = ""  # why there is no pgbench script for the current data size
        self.sizes: dict[str, dict[str, Any]] = {}  # size_key(profile, size): visible parts, seconds to seed
        sizes = [size for _profile in plan.profiles for size in plan.parts]
        self.progress = Progress(total=plan.total_points(), plan=plan, sizes_left=sizes)
        self.sequence = 0

    # Files.

    def save(self) -> None:
        data = {"meta": self.meta, "points": [point.to_dict() for point in self.points]}
        (self.out / "results.json").write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n")

    def raw_path(self, point: Point) -> Path:
        self.sequence += 1
        name = f"{self.sequence:03d}-{point.target}-{point.cache.replace('-', 'x')}-c{point.connections}-run{point.run}"
        return self.out / "raw" / point.profile / str(point.size) / f"{name}.txt"

    def write_raw(self, path: Path, *, command: str, code: int, out: str, err: str, extra: str = "") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        header = f"# command: {command}\n# exit status: {code}\n"
        path.write_text(header + out + (f"\n# stderr:\n{err}" if err.strip() else "") + extra)

    # Measuring.

    def wrk_command(
        self, target: str, cache: str, connections: int, duration: int, *, seed: int = 1, bodies: Path | None = None
    ) -> list[str]:
        """wrk for one point; ``cache`` as Point.cache ("long-tail" sends the long-tail bodies, cache on)."""
        path = self.fixed_path if target == "nginx" else PATHS[target]
        arguments = [f"mode={'search' if target in SEARCHES else 'get'}"]
        if target in SEARCHES:
            if bodies is None:
                bodies = (self.long_tail_files if cache == "long-tail" else self.bodies_files)[seed]
            arguments.append(f"bodies={shown(bodies)}")
        cache = "on" if cache in ("long-tail", "-") else cache
        arguments += [f"seed={seed}", f"cache={cache}", f"host={self.stack.host}"]
        # As an operator where only an operator gets what is measured: a search without the cache, a probe.
        if self.stack.operator_token and (cache == "bypass" or target in ("django-healthz", "fastapi-healthz")):
            arguments.append("operator=1")
        return [
            "wrk",
            f"-t{self.plan.threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            f"{WRK_TIMEOUT_S}s",
            "--latency",
            "-s",
            shown(WRK_SCRIPT),
            self.stack.base_url + path,
            "--",
            *arguments,
        ]

    def measure_wrk(self, point: Point) -> tuple[Measured, CpuSample]:
        """wrk's figures, and /proc/stat as soon as wrk is done."""
        raw = self.raw_path(point)
        command = self.wrk_command(
            point.target, point.cache, point.connections, self.plan.duration, seed=point.workload_seed
        )
        timeout = self.plan.duration + WRK_TIMEOUT_S + 60
        code, out, err = run_command(command, timeout=timeout, env=self.stack.operator_env())
        cpu_after = cpu_sample()
        self.write_raw(raw, command=shlex.join(command), code=code, out=out, err=err)
        point.raw = str(raw.relative_to(self.out))
        point.command = shlex.join(command)
        point.clients = point.connections
        if code != 0:
            raise RuntimeError(f"wrk exited {code}: {err.strip()[-300:]}")
        return wrk_parse(out), cpu_after

    def record_pgbench_script(self, profile: str, size: int, seed: int) -> None:
        """The pgbench script of this data size and workload seed: what the running FastAPI task sends
        PostgreSQL for each body."""
        path = self.out / "tmp" / f"pgbench-search-{profile}-{size}-seed{seed}.sql"
        bodies_file = self.bodies_files[seed]
        bodies = bodies_read(bodies_file)
        container = self.stack.container(self.stack.fastapi_service)
        command = ["docker", "exec", "-i", container, "python", "-c", RECORDER.read_text()]
        started = time.monotonic()
        code, out, err = run_command(command, stdin=bodies_file, timeout=1800)
        try:
            if code != 0:
                raise RuntimeError(f"the recorder exited {code} in {container}: {err.strip()[-500:]}")
            recorded = [json.loads(line) for line in out.splitlines() if line.strip()]
            path.write_text(pgbench_script(bodies, recorded), encoding="utf-8")
        except (RuntimeError, ValueError, TypeError) as error:
            self.pgbench_problem = f"no pgbench script for {size} parts ({profile}, workload seed {seed}): {error}"
            log(self.pgbench_problem)
            return
        self.pgbench_files[seed] = path
        statements = sum(len(search) for search in recorded)
        log(
            f"recorded FastAPI's {statements} statements for {len(recorded)} bodies in "
            f"{time.monotonic() - started:.1f}s (task {container}): {shown(path)}"
        )

    def measure_pgbench(self, point: Point) -> tuple[Measured, CpuSample]:
        """pgbench's figures (latency percentiles from its per-transaction log), and /proc/stat as it ends."""
        raw = self.raw_path(point)
        point.raw = str(raw.relative_to(self.out))
        script = self.pgbench_files.get(point.workload_seed)
        if script is None:
            raise RuntimeError(self.pgbench_problem or f"no pgbench script for workload seed {point.workload_seed}")
        clients = self.stack.pgbench_clients(point.connections)
        threads = min(self.plan.threads, clients)
        container = self.stack.container(self.stack.postgres_service)
        prefix = f"/tmp/bench-pgbench-{os.getpid()}-{raw.stem}"
        inner = (
            'exec pgbench -n -M simple -U "$POSTGRES_APP_ROLE" '
            f"-c {clients} -j {threads} -T {self.plan.duration} --random-seed={point.workload_seed} "
            f'-l --log-prefix={prefix} -f - "$POSTGRES_DB"'
        )
        environment = ["-e", "PGCLIENTENCODING=UTF8", "-e", f"PGOPTIONS=-c statement_timeout={STATEMENT_TIMEOUT_MS}"]
        command = ["docker", "exec", "-i", *environment, container, "sh", "-c", inner]
        display = shlex.join(command) + f" < {script.relative_to(self.out)}"
        code, out, err = run_command(command, stdin=script, timeout=self.plan.duration + 120)
        cpu_after = cpu_sample()
        _code, log_text, _err = run_command(
            ["docker", "exec", container, "sh", "-c", f"cat {prefix}.* 2>/dev/null; rm -f {prefix}.*"], timeout=120
        )
        latencies = pgbench_log_latencies_us(log_text)
        logs = self.out / "tmp" / "pgbench-logs" / (raw.stem + ".log.gz")
        logs.parent.mkdir(parents=True, exist_ok=True)
        logs.write_bytes(gzip.compress(log_text.encode()))
        point.command = display
        point.clients = clients
        if code != 0:
            self.write_raw(raw, command=display, code=code, out=out, err=err)
            raise RuntimeError(f"pgbench exited {code}: {err.strip()[-300:]}")
        measured = pgbench_parse(out, latencies)
        extra = (
            f"\n# latency from the per-transaction log ({len(latencies)} transactions; "
            f"log kept in tmp/pgbench-logs/, not in git): p50 {measured.p50_ms:.2f} ms, "
            f"p90 {measured.p90_ms:.2f} ms, p99 {measured.p99_ms:.2f} ms\n"
        )
        self.write_raw(raw, command=display, code=code, out=out, err=err, extra=extra)
        return measured, cpu_after

    def measure(self, point: Point) -> None:
        size = f"{point.size:,}".replace(",", " ")
        cache = f", cache {CACHE_LABELS[point.cache]}" if point.cache != "-" else ""
        runs = f"run {point.run}/{self.plan.runs} (workload seed {point.workload_seed})"
        description = (
            f"{size} parts, {point.profile} | {LABELS[point.target]}{cache} | {point.connections} conns | {runs}"
        )
        started = time.monotonic()
        before = cpu_sample()
        try:
            measured, after = self.measure_pgbench(point) if point.target == "pgbench" else self.measure_wrk(point)
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as error:
            point.failed = str(error)
            result = f"FAILED: {error}"
        else:
            point.cpu_busy = cpu_busy_percent(before, after)
            for name in ("ok_rps", "rps", "p50_ms", "p90_ms", "p99_ms", "requests", "errors"):
                setattr(point, name, getattr(measured, name))
            point.statuses, point.socket_errors, point.x_cache = (
                measured.statuses,
                measured.socket_errors,
                measured.x_cache,
            )
            used = f" ({point.clients} clients)" if point.clients != point.connections else ""
            result = f"{point.ok_rps:.0f} rps{used}, p99 {point.p99_ms:.1f} ms, {point.errors} errors"
        point.seconds = time.monotonic() - started
        self.points.append(point)
        self.progress.done += 1
        self.progress.point_seconds += point.seconds + PAUSE_S
        self.save()
        log(self.progress.line(description, result))
        time.sleep(PAUSE_S)

    def warm_up(self, profile: str, size: int) -> None:
        if self.plan.warmup <= 0:
            return
        seed = self.plan.workload_seed(1)
        for target in SEARCHES:
            command = self.wrk_command(target, "bypass", self.plan.connections[0], self.plan.warmup, seed=seed)
            log(f"warm-up, {size} parts, {profile}, {LABELS[target]}: {self.plan.warmup}s")
            timeout = self.plan.warmup + WRK_TIMEOUT_S + 60
            code, out, err = run_command(command, timeout=timeout, env=self.stack.operator_env())
            path = self.out / "raw" / profile / str(size) / f"000-warmup-{target}.txt"
            self.write_raw(path, command=shlex.join(command), code=code, out=out, err=err)

    def choose_fixed_path(self) -> None:
        status, body = self.stack.get(FIXED_PATH)
        if status == 200 and body.strip() == FIXED_BODY:
            self.fixed_path = FIXED_PATH
            return
        status, _body = self.stack.get(FIXED_FALLBACK_PATH)
        if status != 200:
            raise RuntimeError(f"neither {FIXED_PATH} nor {FIXED_FALLBACK_PATH} answers 200 through Nginx")
        self.fixed_path = FIXED_FALLBACK_PATH
        log(
            f"the running Nginx has no {FIXED_PATH} (nginx.conf newer than its task: scripts/edge-config.sh "
            f"applies it); measuring its Lua-served {FIXED_FALLBACK_PATH} as the fixed answer instead"
        )

    def check_stack(self) -> None:
        self.stack.operator_token = self.stack.operator_token_read()
        if not self.stack.operator_token:
            log(
                "the Nginx task has no operator token (EDGE_OPERATOR_TOKEN_FILE): the bypassed searches and the "
                "/healthz ceilings need one on an edge that keeps them from the public"
            )
        for target in ("django-healthz", "fastapi-healthz"):
            status, body = self.stack.get(PATHS[target], headers=self.stack.operator_headers())
            if status != 200:
                raise RuntimeError(f"{PATHS[target]} answered {status} through Nginx: {body[:200]!r}")
        # The bypassed points must measure searches without the cache: the edge passes no-cache from operators only.
        for target in SEARCHES:
            headers = {"Cache-Control": "no-cache", **self.stack.operator_headers()}
            status, body, answer_headers = self.stack.request(PATHS[target], b"{}", headers)
            cache = answer_headers.get("x-cache", "")
            if status != 200 or cache not in UNCACHED:
                raise RuntimeError(
                    f"a search with Cache-Control: no-cache through Nginx answered {status} with X-Cache "
                    f"{cache or '(none)'}, not one of {', '.join(UNCACHED)}: the bypassed points would measure the "
                    f"cache ({body[:200]!r})"
                )
        self.choose_fixed_path()

    def prepare_profile(self, profile: str) -> None:
        """The bodies files of a data profile, one per workload seed (and the long tail's), and their shapes."""
        vocabulary = vocabulary_load(profile)
        self.bodies_files, self.long_tail_files = {}, {}
        shapes: dict[str, Any] = {}
        for seed in dict.fromkeys(self.plan.workload_seeds):
            usual = workload_generate(seed=seed, distinct=self.plan.distinct, vocabulary=vocabulary)
            self.bodies_files[seed] = self.out / "tmp" / f"bodies-{profile}-seed{seed}.tsv"
            shapes[str(seed)] = workload_summary(usual, bodies_write(self.bodies_files[seed], usual))
            if self.plan.long_tail:
                tail = workload_generate(
                    seed=seed, distinct=self.plan.long_tail, vocabulary=vocabulary, exponent=LONG_TAIL_EXPONENT
                )
                self.long_tail_files[seed] = self.out / "tmp" / f"bodies-{profile}-seed{seed}-long-tail.tsv"
                shapes[f"{seed}-long-tail"] = workload_summary(tail, bodies_write(self.long_tail_files[seed], tail))
        self.meta.setdefault("workloads", {})[profile] = shapes
        self.save()

    def measure_size(self, profile: str, size: int) -> None:
        self.touched = True
        self.seeded = None  # a seed that fails half-way leaves the catalog in between
        seconds = self.stack.seed(parts=size, seed=self.plan.data_seed, profile=profile)
        self.seeded = (profile, size, self.plan.data_seed)
        visible = self.stack.visible_parts()
        self.sizes[size_key(profile, size)] = {"visible": visible, "seed_seconds": round(seconds, 1)}
        self.meta["sizes"] = self.sizes
        self.progress.sizes_left.remove(size)
        log(f"{size} parts ({profile} profile) seeded in {seconds:.0f}s ({visible} visible)")
        self.pgbench_problem = ""
        self.pgbench_files = {}
        for seed in dict.fromkeys(self.plan.workload_seeds):
            self.record_pgbench_script(profile, size, seed)
        self.warm_up(profile, size)
        for connections in self.plan.connections:
            for run in range(1, self.plan.runs + 1):
                seed = self.plan.workload_seed(run)
                targets = [(target, cache) for cache in self.plan.cache_modes() for target in SEARCHES]
                for target, cache in targets + [(target, "-") for target in CEILINGS]:
                    self.measure(
                        Point(
                            size=size,
                            target=target,
                            cache=cache,
                            connections=connections,
                            run=run,
                            profile=profile,
                            workload_seed=seed,
                        )
                    )

    def prepare(self) -> None:
        (self.out / "tmp").mkdir(parents=True, exist_ok=True)
        (self.out / "tmp" / ".gitignore").write_text("*\n")
        for profile in self.plan.profiles:
            vocabulary_load(profile)  # an unknown profile stops the run before anything is seeded
        self.meta.update(
            {
                "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                "invocation": self.invocation,
                "parts": self.plan.parts,
                "profiles": self.plan.profiles,
                "plan": {
                    key: getattr(self.plan, key)
                    for key in (
                        "runs",
                        "duration",
                        "warmup",
                        "connections",
                        "threads",
                        "data_seed",
                        "workload_seeds",
                        "distinct",
                        "long_tail",
                    )
                },
                "git": git_facts(),
                "host": host_facts(),
            }
        )
        self.check_stack()
        self.meta["fixed_path"] = self.fixed_path
        self.meta["stack"] = stack_facts(self.stack)
        settings = " || ', ' || ".join(f"'{name}=' || current_setting('{name}')" for name in PLAN_SETTINGS)
        self.meta["postgres"] = self.stack.psql(f"SELECT split_part(version(), ' on ', 1) || ', ' || {settings}")
        self.meta["pgbench"] = checked(
            ["docker", "exec", self.stack.container(self.stack.postgres_service), "pgbench", "--version"]
        ).strip()
        self.save()

    def restore(self) -> None:
        plan = self.plan
        if not self.touched:
            return
        if self.seeded == (DEFAULT_PROFILE, plan.restore_parts, plan.restore_seed):
            log(f"the catalog already holds {plan.restore_parts} parts of seed {plan.restore_seed}")
            return
        log(f"restoring the usual catalog: {plan.restore_parts} parts, seed {plan.restore_seed}")
        self.stack.seed(parts=plan.restore_parts, seed=plan.restore_seed)

    def run(self) -> int:
        log(
            f"{self.plan.total_points()} points ({self.plan.points_per_size()} per data size) of "
            f"{self.plan.duration}s each; results in {shown(self.out)}"
        )
        self.out.mkdir(parents=True, exist_ok=True)
        try:
            self.prepare()
            for profile in self.plan.profiles:
                self.prepare_profile(profile)
                for size in self.plan.parts:
                    self.measure_size(profile, size)
        finally:
            self.meta["finished"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            self.meta["elapsed_seconds"] = round(time.monotonic() - self.progress.started)
            self.save()
            try:
                self.restore()
            finally:
                if self.points:
                    write_reports(self.out)
        failed = [point for point in self.points if point.failed]
        log(
            f"done in {duration_text(time.monotonic() - self.progress.started)}: "
            f"{shown(self.out)}/summary.md" + (f"; {len(failed)} points failed" if failed else "")
        )
        return 1 if failed else 0


def size_key(profile: str, size: int) -> str:
    """results.json's key of a data size of a profile: "10000" for the task profile (as before profiles)."""
    return str(size) if profile == DEFAULT_PROFILE else f"{profile}/{size}"


def workload_summary(bodies: Sequence[WorkloadBody], digest: str) -> dict[str, Any]:
    """A bodies file's shape, for results.json and env.md."""
    shape = workload_shape(bodies)
    return {
        "distinct": shape.distinct,
        "sha256": digest,
        "distinct_by_kind": shape.distinct_by_kind,
        "traffic_by_kind": {key: round(value, 4) for key, value in shape.traffic_by_kind.items()},
        "top1_share": round(shape.top1_share, 4),
        "top10_share": round(shape.top10_share, 4),
        "top100_share": round(shape.top100_share, 4),
    }


# Reports.


def _example(points: Sequence[Point], test: Callable[[Point], bool]) -> str:
    for point in points:
        if test(point) and point.command:
            return point.command
    return "-"


def env_markdown(meta: dict[str, Any], points: Sequence[Point]) -> str:
    host, gitinfo, plan = meta["host"], meta["git"], meta["plan"]
    sizes = meta.get("sizes", {})
    lines = [
        "# Environment of this run",
        "",
        f"- Started {meta['started']}, finished {meta.get('finished', '?')} "
        f"({duration_text(meta.get('elapsed_seconds', 0))}).",
        f"- Commit `{gitinfo['commit']}` on `{gitinfo['branch']}`: {gitinfo['subject']}"
        + (f" (uncommitted changes: {gitinfo['dirty']})" if gitinfo["dirty"] else " (clean work tree)"),
        f"- Command: `{meta['invocation']}`",
        "",
        "## Hardware and tools",
        "",
        f"- CPU: {host['cpu']}, {host['cores']} cores; RAM {host['memory']}; {host['kernel']}",
        f"- Docker Engine {host['docker']}; {host['wrk']}; {meta.get('pgbench', '?')} (inside the postgres task); "
        f"runner Python {host['python']}",
        f"- PostgreSQL: {meta.get('postgres', '?')}",
        "- Load generator, stack and database share the same cores: compare within this run, not across machines.",
        "",
        "## Stack, read from the live services",
        "",
        "| service | image | replicas (running) | worker processes per task | settings |",
        "| --- | --- | --- | --- | --- |",
    ]
    for fact in meta.get("stack", []):
        lines.append(
            f"| {fact['service']} | `{fact['image']}` | {fact['replicas']} ({fact['running']}) | {fact['workers']} "
            f"| {fact['settings']} |"
        )
    profiles = meta.get("profiles", [DEFAULT_PROFILE])
    seeds = plan.get("workload_seeds", [plan.get("workload_seed", 1)])
    lines += ["", "## Data", ""]
    for profile in profiles:
        for size in meta["parts"]:
            info = sizes.get(size_key(profile, size))
            command = seed_shown(parts=size, seed=plan["data_seed"], profile=profile)
            if info:
                lines.append(
                    f"- {size} parts, {profile} profile, seed {plan['data_seed']} (`{command}`, then "
                    f"`VACUUM (FULL, ANALYZE)` as the owner): {info['visible']} visible; "
                    f"seeded in {info['seed_seconds']} s"
                )
            else:
                lines.append(f"- {size} parts, {profile} profile: not reached")
    lines += ["", "## Workload", ""]
    workloads = meta.get("workloads") or {DEFAULT_PROFILE: {str(seeds[0]): meta.get("workload", {})}}
    if "workloads" not in meta:  # a run from before workload seeds and profiles: its own commit's workload
        lines.append(f"- One workload seed ({seeds[0]}), from `scripts/bench/workload.py` at the run's commit.")
    else:
        lines.append(
            f"- Workload seeds {', '.join(str(seed) for seed in seeds)}: round r of every point draws its bodies from "
            "the r-th seed (from the first again when there are more rounds than seeds), so a point's runs differ in "
            "their bodies too, and the summary's min-max of the runs is the spread across seeds. Bodies from "
            "`scripts/bench/workload.py`, the profile's own vocabulary (`app/catalog/profiles.py`); price bounds are "
            f"any integer; no body above {MAX_BODY_SHARE:.0%} of the requests."
        )
    for profile, shapes in workloads.items():
        for name, workload in shapes.items():
            if not workload:
                continue
            by_kind = ", ".join(
                f"{kind} {workload['distinct_by_kind'][kind]} bodies / {workload['traffic_by_kind'][kind]:.0%}"
                for kind in workload["distinct_by_kind"]
            )
            tail = name.endswith("-long-tail")
            exponent = LONG_TAIL_EXPONENT if tail else ZIPF_EXPONENT
            lines.append(
                f"- {profile} profile, seed {name.removesuffix('-long-tail')}{', long tail' if tail else ''}: "
                f"{workload['distinct']} distinct bodies (sha256 `{workload['sha256'][:16]}...`): {by_kind}; Zipf-like "
                f"within each kind (exponent {exponent}): the most popular body is {workload['top1_share']:.1%} of "
                f"requests, the top 10 {workload['top10_share']:.1%}, the top 100 {workload['top100_share']:.1%}."
            )
    lines += [
        "- The bodies files are in `tmp/` (not in git); `python -m scripts.bench.run workload --profile P --seed S "
        "--distinct N [--long-tail] --out DIR` writes one again.",
        "",
        "## Points",
        "",
        f"- Connections {', '.join(str(c) for c in plan['connections'])}; {plan['runs']} run(s) of "
        f"{plan['duration']} s per point; warm-up {plan['warmup']} s per search and data size; wrk with "
        f"{plan['threads']} threads and keep-alive connections, through Nginx at the stack's published port.",
        "- Each round: Django and FastAPI searches alternating, cache bypassed (`Cache-Control: no-cache` with "
        "the edge's operator token), "
        "then cache on, then cache on over the long-tail bodies (when there are long-tail points); then the "
        "ceilings: "
        f"Nginx's fixed answer (`{meta.get('fixed_path', FIXED_PATH)}`), `/healthz` and `/fastapi/healthz`, "
        "and pgbench running the FastAPI SQL (`fastapi_search/queries.py`) with the same bodies and weights.",
        "- pgbench's script for each data size holds, for every body, the statements the running FastAPI task's "
        "own `part_search` sent PostgreSQL for it on that data, with their arguments as literals "
        "(`scripts/bench/recorder.py`, `scripts/bench/pgbench_script.py`), kept as `tmp/pgbench-search-<parts>.sql`.",
        "- pgbench runs inside the postgres task as the apps' role through the socket, simple protocol "
        f"(each statement planned with its values), statement_timeout {STATEMENT_TIMEOUT_MS} ms as in the service; "
        "its clients are capped by what max_connections leaves free.",
        "- CPU per core: from /proc/stat before and after each point (the whole machine).",
        f"- {NGINX_FIXED_CAVEAT}",
        "",
        "## Exact commands",
        "",
        "Every raw file in `raw/` starts with the exact command that made it. One of each kind:",
        "",
        "```",
        _example(points, lambda point: point.target in SEARCHES),
        _example(points, lambda point: point.target == "nginx"),
        _example(points, lambda point: point.target == "pgbench"),
        "```",
    ]
    return "\n".join(lines) + "\n"


def plan_lines(plan: Plan) -> list[str]:
    """What a run would do, in order, without doing it (measure --dry-run)."""
    lines = [f"{plan.total_points()} points of {plan.duration} s ({plan.points_per_size()} per data size and profile)"]
    for profile in plan.profiles:
        lines.append(f"profile {profile}: vocabulary {len(vocabulary_load(profile).part_names)} part names")
        for size in plan.parts:
            lines.append("  " + seed_shown(parts=size, seed=plan.data_seed, profile=profile))
            for connections in plan.connections:
                for run in range(1, plan.runs + 1):
                    cache = ", ".join(CACHE_LABELS[mode] for mode in plan.cache_modes())
                    lines.append(
                        f"    {size} parts, {connections} conns, run {run} (workload seed "
                        f"{plan.workload_seed(run)}): searches with the cache {cache}; then the ceilings"
                    )
    lines.append(f"  then the usual catalog again: {plan.restore_parts} parts, seed {plan.restore_seed}")
    return lines


def write_reports(out: Path) -> None:
    """summary.md, env.md and the plots of a run folder from its results.json; then the index."""
    meta, points = load_points(out / "results.json")
    profiles = list(meta.get("profiles", [DEFAULT_PROFILE]))
    plots: dict[tuple[str, int], str] = {}
    decision: str | None = None
    try:
        from scripts.bench.plots import (  # noqa: PLC0415 (matplotlib only when there is something to draw)
            plot_decision,
            plot_size,
        )
    except ImportError as error:
        log(f"no plots: {error} (scripts/venv.sh requirements/bench.txt installs matplotlib)")
    else:
        if plot_decision(points, meta["parts"], out / DECISION_PLOT, run=out.name, profiles=profiles):
            decision = DECISION_PLOT
        for profile in profiles:
            for size in meta["parts"]:
                name = f"plot-{size_key(profile, size).replace('/', '-')}.png"
                if plot_size(points, size, out / name, profile=profile):
                    plots[(profile, size)] = name
    visible = {
        (profile, size): info["visible"]
        for profile in profiles
        for size in meta["parts"]
        if (info := meta.get("sizes", {}).get(size_key(profile, size)))
    }
    gitinfo, plan = meta["git"], meta["plan"]
    preamble = (
        f"`make bench` at commit `{gitinfo['short']}`{' (with uncommitted changes)' if gitinfo['dirty'] else ''}, "
        f"started {meta['started']}: medians of {plan['runs']} run(s) of {plan['duration']} s per point, through "
        "Nginx on this machine (load generator included), with the spread of the runs beside each median and "
        "every run's own figure below each size's tables. Hardware, stack sizes, data and exact commands: "
        "[env.md](env.md); every point: [results.json](results.json) and `raw/`."
    )
    fixed = meta.get("fixed_path", FIXED_PATH)
    notes = [
        "rps counts 2xx answers per second (pgbench: transactions, each one search's statements as the FastAPI "
        "task ran them). errors is the share of non-2xx answers (such as the edge's 503 `overloaded` past its "
        "admission limit) and socket errors among all answers.",
        "p99 is wrk's, over every answer, the fast 503s included; pgbench's is from its per-transaction log.",
        '"of its /healthz", "of Nginx fixed" and "of pgbench" divide the search\'s median rps by that '
        "ceiling's median rps at the same connection count, in the same run.",
        "rps min-max is the lowest and highest run of a point; each run draws its bodies from the next workload "
        f"seed ({', '.join(str(seed) for seed in plan.get('workload_seeds', [plan.get('workload_seed', 1)]))}), "
        "so it is also the spread across seeds. A median hides a bad run (a cached point whose run crossed the "
        "cache's TTL, say): the table of every run shows it, with that run's X-Cache hit share.",
        "Cache on, long tail: the cache on over tens of thousands of distinct bodies with a flat skew (env.md), "
        "so that the response cache misses as it would on a real shop's traffic; read its rps with its hit share.",
        NGINX_FIXED_CAVEAT,
        f"Nginx fixed is `{fixed}`."
        if fixed == FIXED_PATH
        else f"Nginx fixed is `{fixed}` (Lua, answered by Nginx alone): the running Nginx predates `{FIXED_PATH}`.",
        "Cache bypassed sends `Cache-Control: no-cache` with the edge's operator token (Nginx passes it from "
        "operators only; the /healthz ceilings are asked as an operator too); X-Cache HIT is the share of "
        "answers whose `X-Cache` "
        'header said HIT ("-" when no answer carried the header).',
        "pgbench's clients are capped by PostgreSQL's max_connections (\"N used\"); the apps themselves never "
        "run more than their database slots at once.",
    ]
    sizes = list(meta["parts"])
    summary = summary_markdown(
        points,
        title=f"Benchmark {out.name}",
        preamble=preamble,
        sizes=sizes,
        visible=visible,
        plots=plots,
        notes=notes,
        decision=decision,
        profiles=profiles,
    )
    (out / "summary.md").write_text(summary, encoding="utf-8")
    (out / "env.md").write_text(env_markdown(meta, points), encoding="utf-8")
    write_index(out.parent)


def write_index(results_dir: Path = RESULTS_DIR) -> None:
    (results_dir / "README.md").write_text(index_markdown(results_dir), encoding="utf-8")


def run_folder(results_dir: Path) -> Path:
    """bench-results/<date>-<short commit>[-dirty], with -2, -3 ... when that exists already."""
    short = checked(["git", "-C", str(ROOT), "rev-parse", "--short=7", "HEAD"]).strip()
    base = f"{dt.datetime.now(dt.UTC):%Y-%m-%d}-{short}{'-dirty' if uncommitted_changes() else ''}"
    folder = results_dir / base
    number = 2
    while folder.exists():
        folder = results_dir / f"{base}-{number}"
        number += 1
    return folder


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.run", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    measure = commands.add_parser("measure", help="measure the running stack and write a run folder")
    measure.add_argument("--parts", type=int, nargs="+", default=[10_000, 1_000_000])
    measure.add_argument("--runs", type=int, default=3)
    measure.add_argument("--duration", type=int, default=10, help="seconds per point")
    measure.add_argument("--warmup", type=int, default=5, help="seconds per search and data size")
    measure.add_argument("--connections", type=int, nargs="+", default=[8, 32, 128])
    measure.add_argument("--threads", type=int, default=2, help="wrk threads (pgbench: -j)")
    measure.add_argument("--data-seed", type=int, default=1)
    measure.add_argument(
        "--workload-seeds", type=int, nargs="+", default=[1, 2, 3], help="round r draws from the r-th seed"
    )
    measure.add_argument("--distinct", type=int, default=DEFAULT_DISTINCT, help="distinct search bodies")
    measure.add_argument(
        "--long-tail",
        type=int,
        default=LONG_TAIL_DISTINCT,
        help="distinct bodies of the cache-on long-tail points (0: none)",
    )
    measure.add_argument("--profiles", nargs="+", default=[DEFAULT_PROFILE], help="data profiles (profiles.py)")
    measure.add_argument(
        "--dry-run", action="store_true", help="print what would be seeded and measured; touch nothing"
    )
    measure.add_argument("--restore-parts", type=int, default=10_000)
    measure.add_argument("--restore-seed", type=int, default=1)
    measure.add_argument("--base-url", default="http://127.0.0.1:8080")
    measure.add_argument("--host", default="localhost", help="Host header (a name Django accepts)")
    measure.add_argument("--django-service", required=True)
    measure.add_argument("--fastapi-service", required=True)
    measure.add_argument("--nginx-service", required=True)
    measure.add_argument("--postgres-service", required=True)
    measure.add_argument("--out", type=Path, help="run folder (default bench-results/<date>-<commit>)")
    measure.add_argument("--invocation", default="", help="the command as the user typed it, for env.md")

    summarize = commands.add_parser("summarize", help="rewrite summary.md, env.md and plots from results.json")
    summarize.add_argument("folder", type=Path)

    commands.add_parser("index", help="rewrite bench-results/README.md")
    prune = commands.add_parser("prune", help="remove raw/ from all but the newest runs, then rewrite the index")
    prune.add_argument("--keep", type=int, default=RAW_KEPT, help=f"runs that keep raw/ (default {RAW_KEPT})")

    workload = commands.add_parser("workload", help="write the bodies file")
    workload.add_argument("--profile", default=DEFAULT_PROFILE)
    workload.add_argument("--seed", type=int, default=1)
    workload.add_argument("--distinct", type=int, default=DEFAULT_DISTINCT)
    workload.add_argument(
        "--long-tail", action="store_true", help=f"the long tail's skew (exponent {LONG_TAIL_EXPONENT})"
    )
    workload.add_argument("--out", type=Path, required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "summarize":
        write_reports(args.folder.resolve())
        return 0
    if args.command == "index":
        write_index()
        return 0
    if args.command == "prune":
        for raw in prune_raw(RESULTS_DIR, args.keep):
            print(f"removed {raw.relative_to(ROOT)}")
        write_index()
        return 0
    if args.command == "workload":
        exponent = LONG_TAIL_EXPONENT if args.long_tail else ZIPF_EXPONENT
        vocabulary = vocabulary_load(args.profile)
        bodies = workload_generate(seed=args.seed, distinct=args.distinct, vocabulary=vocabulary, exponent=exponent)
        digest = bodies_write(args.out / "bodies.tsv", bodies)
        print(f"{args.out / 'bodies.tsv'} (sha256 {digest})")
        return 0

    if min(args.connections) < args.threads:
        parser.error(f"every connection count must be at least --threads ({args.threads})")
    plan = Plan(
        parts=args.parts,
        runs=args.runs,
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        threads=args.threads,
        data_seed=args.data_seed,
        workload_seeds=args.workload_seeds,
        distinct=args.distinct,
        restore_parts=args.restore_parts,
        restore_seed=args.restore_seed,
        profiles=list(dict.fromkeys(args.profiles)),
        long_tail=args.long_tail,
    )
    if args.dry_run:
        print("\n".join(plan_lines(plan)))
        return 0
    stack = Stack(
        base_url=args.base_url.rstrip("/"),
        host=args.host,
        django_service=args.django_service,
        fastapi_service=args.fastapi_service,
        nginx_service=args.nginx_service,
        postgres_service=args.postgres_service,
        stack_env={key: os.environ[key] for key in ("STACK_NAME", "HTTP_PORT") if key in os.environ},
    )
    out = (args.out or run_folder(RESULTS_DIR)).resolve()
    invocation = args.invocation or shlex.join([sys.executable, "-m", "scripts.bench.run", *(argv or sys.argv[1:])])
    return Bench(stack=stack, plan=plan, out=out, invocation=invocation).run()


if __name__ == "__main__":
    sys.exit(main())
