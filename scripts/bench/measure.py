"""One point of `make bench` measured: wrk through Nginx (scripts/bench/wrk.lua) or pgbench inside the postgres
task, with CPU per core before and after, and the raw output kept with the exact command that made it.

The files they read live here too: the bodies files of a data profile, one per workload seed (and the long
tail's), and the pgbench scripts of a data size, recorded from what the running FastAPI task sends PostgreSQL
(scripts/bench/recorder.py, scripts/bench/pgbench_script.py).
"""

from __future__ import annotations

import gzip
import json
import os
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

from scripts.bench.commands import ROOT, log, run_command, shown
from scripts.bench.pgbench_script import pgbench_script
from scripts.bench.plan import Plan
from scripts.bench.results import (
    LABELS,
    SEARCHES,
    CpuSample,
    Measured,
    Point,
    cpu_busy_percent,
    cpu_sample_parse,
    pgbench_log_latencies_us,
    pgbench_parse,
    wrk_parse,
)
from scripts.bench.service_cpu import per_answer_ms, service_cpu_seconds
from scripts.bench.stack import FIXED_PATH, PATHS, Stack
from scripts.bench.workload import (
    LONG_TAIL_EXPONENT,
    bodies_read,
    bodies_write,
    vocabulary_load,
    workload_generate,
    workload_summary,
)

WRK_SCRIPT = ROOT / "scripts" / "bench" / "wrk.lua"
RECORDER = ROOT / "scripts" / "bench" / "recorder.py"
# wrk gives up on an answer after this; above the edge's queue (2 s) plus two statement timeouts (5 s each).
WRK_TIMEOUT_S = 20
# The FastAPI service's statement timeout (DB_STATEMENT_TIMEOUT_MS default), for pgbench's sessions too.
STATEMENT_TIMEOUT_MS = 5000


def cpu_sample() -> CpuSample:
    return cpu_sample_parse(Path("/proc/stat").read_text())


class Meter:
    """wrk and pgbench for the points of one run folder, and the bodies files and pgbench scripts they read."""

    def __init__(self, *, stack: Stack, plan: Plan, out: Path) -> None:
        self.stack = stack
        self.plan = plan
        self.out = out
        self.fixed_path = FIXED_PATH  # Stack.check's choice
        # Per workload seed, of the profile being measured: the bodies files (usual and long tail) and the
        # pgbench script of the data size being measured (record_pgbench_script).
        self.bodies_files: dict[int, Path] = {}
        self.long_tail_files: dict[int, Path] = {}
        self.pgbench_files: dict[int, Path] = {}
        self.pgbench_problem = ""  # why there is no pgbench script for the current data size
        self.sequence = 0

    # Files.

    def raw_path(self, point: Point) -> Path:
        self.sequence += 1
        name = f"{self.sequence:03d}-{point.target}-{point.cache.replace('-', 'x')}-c{point.connections}-run{point.run}"
        return self.out / "raw" / point.profile / str(point.size) / f"{name}.txt"

    def write_raw(self, path: Path, *, command: str, code: int, out: str, err: str, extra: str = "") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        header = f"# command: {command}\n# exit status: {code}\n"
        path.write_text(header + out + (f"\n# stderr:\n{err}" if err.strip() else "") + extra)

    def prepare_bodies(self, profile: str) -> dict[str, Any]:
        """The bodies files of a data profile, one per workload seed (and the long tail's); their shapes."""
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
        return shapes

    def record_pgbench_scripts(self, profile: str, size: int) -> None:
        """The pgbench scripts of a data size just seeded, one per workload seed."""
        self.pgbench_problem = ""
        self.pgbench_files = {}
        for seed in dict.fromkeys(self.plan.workload_seeds):
            self.record_pgbench_script(profile, size, seed)

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

    def measure(self, point: Point) -> str:
        """The point's figures (or why it failed) set on it; what the progress line says of them."""
        services_before = service_cpu_seconds()
        before = cpu_sample()
        try:
            measured, after = self.measure_pgbench(point) if point.target == "pgbench" else self.measure_wrk(point)
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as error:
            point.failed = str(error)
            return f"FAILED: {error}"
        point.cpu_busy = cpu_busy_percent(before, after)
        point.service_cpu_ms = per_answer_ms(services_before, service_cpu_seconds(), measured.requests)
        for name in ("ok_rps", "rps", "p50_ms", "p90_ms", "p99_ms", "requests", "errors"):
            setattr(point, name, getattr(measured, name))
        point.statuses, point.socket_errors, point.x_cache = (
            measured.statuses,
            measured.socket_errors,
            measured.x_cache,
        )
        used = f" ({point.clients} clients)" if point.clients != point.connections else ""
        return f"{point.ok_rps:.0f} rps{used}, p99 {point.p99_ms:.1f} ms, {point.errors} errors"
