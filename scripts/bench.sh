#!/usr/bin/env bash
# `make bench`: measure both searches and their ceilings on the running stack; write bench-results/<date>-<commit>/.
#
# Variables (defaults): PARTS ("10000 1000000"), PROFILES ("task"; data profiles, e.g. "task realistic"), RUNS
# (3), DURATION (10 s a point), WARMUP (5 s), CONNECTIONS ("8 32 128"), THREADS (2), DATA_SEED (1),
# WORKLOAD_SEEDS ("1 2 3": run r of a point draws from the r-th), BODIES (1200 distinct search bodies),
# LONG_TAIL (50000 distinct bodies of the cache-on long-tail points; 0: none), OUT (run folder), DRY_RUN (1:
# print what would be seeded and measured, touch nothing). Each data size of each profile is seeded through
# the stack first (scripts/seed.sh --clear); at the end the catalog holds the 10 000 parts of seed 1 that
# `make up` seeds. The stack's services come from the control plane (stackctl.py bench-target); the runner is
# scripts/bench/run.py, started by scripts/bench/make_bench.py, which reads the variables.
set -euo pipefail
cd "$(dirname "$0")/.."
# wrk on the host; pgbench runs inside the postgres task (its image's PostgreSQL ships it); matplotlib plots.
bash scripts/system-packages.sh
bash scripts/venv.sh requirements/bench.txt
exec .venv/bin/python -m scripts.bench.make_bench "$@"
