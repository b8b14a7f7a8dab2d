"""`make bench` (scripts/bench.sh): the benchmark's settings from the environment, the stack's services from the
control plane (`stackctl.py bench-target`, its one door to docker), then ``run.py measure``.

Variables (defaults): PARTS ("10000 1000000"), PROFILES ("task"; data profiles, e.g. "task realistic"), RUNS
(3), DURATION (10 s a point), WARMUP (5 s), CONNECTIONS ("8 32 128"), THREADS (2), DATA_SEED (1),
WORKLOAD_SEEDS ("1 2 3": run r of a point draws from the r-th), BODIES (1200 distinct search bodies),
LONG_TAIL (50000 distinct bodies of the cache-on long-tail points; 0: none), OUT (run folder), DRY_RUN (1:
print what would be seeded and measured, touch nothing); STACK_NAME and HTTP_PORT as for every script.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence

from scripts.bench import run
from scripts.bench.commands import ROOT, log

DEFAULTS = {
    "PARTS": "10000 1000000",
    "PROFILES": "task",
    "RUNS": "3",
    "DURATION": "10",
    "WARMUP": "5",
    "CONNECTIONS": "8 32 128",
    "THREADS": "2",
    "DATA_SEED": "1",
    "WORKLOAD_SEEDS": "1 2 3",
    "BODIES": "1200",
    "LONG_TAIL": "50000",
}
TARGET_KEYS = ("django_service", "fastapi_service", "nginx_service", "postgres_service", "host")


def settings(environ: Mapping[str, str]) -> dict[str, str]:
    """Each variable as given, or its default."""
    return {name: environ.get(name) or default for name, default in DEFAULTS.items()}


def invocation(values: Mapping[str, str]) -> str:
    """The command as a user would type it to measure the same points, for env.md."""
    return (
        f'PARTS="{values["PARTS"]}" PROFILES="{values["PROFILES"]}" RUNS={values["RUNS"]}'
        f" DURATION={values['DURATION']} WARMUP={values['WARMUP']}"
        f' CONNECTIONS="{values["CONNECTIONS"]}" THREADS={values["THREADS"]} DATA_SEED={values["DATA_SEED"]}'
        f' WORKLOAD_SEEDS="{values["WORKLOAD_SEEDS"]}" BODIES={values["BODIES"]} LONG_TAIL={values["LONG_TAIL"]}'
        " make bench"
    )


def measure_argv(environ: Mapping[str, str], target: Mapping[str, str]) -> list[str]:
    """``run.py measure``'s arguments for these variables and this stack (``target``: bench-target's JSON)."""
    values = settings(environ)
    argv = [
        "measure",
        "--parts", *values["PARTS"].split(),
        "--profiles", *values["PROFILES"].split(),
        "--connections", *values["CONNECTIONS"].split(),
        "--runs", values["RUNS"], "--duration", values["DURATION"], "--warmup", values["WARMUP"],
        "--threads", values["THREADS"],
        "--data-seed", values["DATA_SEED"], "--workload-seeds", *values["WORKLOAD_SEEDS"].split(),
        "--distinct", values["BODIES"],
        "--long-tail", values["LONG_TAIL"],
        "--base-url", f"http://127.0.0.1:{environ.get('HTTP_PORT') or '8080'}",
        "--host", target["host"],
        "--django-service", target["django_service"],
        "--fastapi-service", target["fastapi_service"],
        "--nginx-service", target["nginx_service"],
        "--postgres-service", target["postgres_service"],
        "--invocation", invocation(values),
    ]  # fmt: skip
    if environ.get("OUT"):
        argv += ["--out", environ["OUT"]]
    if environ.get("DRY_RUN", "0") not in ("", "0"):
        argv.append("--dry-run")
    return argv


def stack_target() -> dict[str, str]:
    """The running stack's services, from the control plane (its reads are printed on stderr as it runs them)."""
    command = [sys.executable, str(ROOT / "scripts" / "stackctl.py"), "bench-target"]
    result = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(result.returncode)
    target = json.loads(result.stdout)
    return {key: str(target[key]) for key in TARGET_KEYS}


def main(argv: Sequence[str] | None = None) -> int:
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    args = measure_argv(os.environ, stack_target())
    log(f"+ .venv/bin/python -m scripts.bench.run {shlex.join(args)}")
    return run.main(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
