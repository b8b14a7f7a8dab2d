#!/usr/bin/env bash
# `make bench`: measure both searches and their ceilings on the running stack; write bench-results/<date>-<commit>/.
#
# Variables (defaults): PARTS ("10000 1000000"), PROFILES ("task"; data profiles, e.g. "task realistic"), RUNS
# (3), DURATION (10 s a point), WARMUP (5 s), CONNECTIONS ("8 32 128"), THREADS (2), DATA_SEED (1),
# WORKLOAD_SEEDS ("1 2 3": run r of a point draws from the r-th), BODIES (1200 distinct search bodies),
# LONG_TAIL (50000 distinct bodies of the cache-on long-tail points; 0: none), OUT (run folder), DRY_RUN (1:
# print what would be seeded and measured, touch nothing). Each data size of each profile is seeded through
# the stack first (scripts/seed.sh --clear); at the end the catalog holds the 10 000 parts of seed 1 that
# `make up` seeds. The runner is scripts/bench/run.py.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "${REPO_ROOT}"

PARTS="${PARTS:-10000 1000000}"
RUNS="${RUNS:-3}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-5}"
CONNECTIONS="${CONNECTIONS:-8 32 128}"
THREADS="${THREADS:-2}"
DATA_SEED="${DATA_SEED:-1}"
WORKLOAD_SEEDS="${WORKLOAD_SEEDS:-1 2 3}"
BODIES="${BODIES:-1200}"
LONG_TAIL="${LONG_TAIL:-50000}"
PROFILES="${PROFILES:-task}"
DRY_RUN="${DRY_RUN:-0}"

# wrk on the host; pgbench runs inside the postgres task (its image's PostgreSQL ships it); matplotlib plots.
bash scripts/system-packages.sh
bash scripts/venv.sh requirements/bench.txt
require_docker
docker service inspect "$(service_name django)" >/dev/null 2>&1 || die "no stack ${STACK_NAME} running; make up first"

invocation="PARTS=\"${PARTS}\" PROFILES=\"${PROFILES}\" RUNS=${RUNS} DURATION=${DURATION} WARMUP=${WARMUP}"
invocation+=" CONNECTIONS=\"${CONNECTIONS}\" THREADS=${THREADS} DATA_SEED=${DATA_SEED}"
invocation+=" WORKLOAD_SEEDS=\"${WORKLOAD_SEEDS}\" BODIES=${BODIES} LONG_TAIL=${LONG_TAIL} make bench"

read -ra parts <<<"${PARTS}"
read -ra connections <<<"${CONNECTIONS}"
read -ra workload_seeds <<<"${WORKLOAD_SEEDS}"
read -ra profiles <<<"${PROFILES}"
args=(
    measure
    --parts "${parts[@]}"
    --profiles "${profiles[@]}"
    --connections "${connections[@]}"
    --runs "${RUNS}" --duration "${DURATION}" --warmup "${WARMUP}" --threads "${THREADS}"
    --data-seed "${DATA_SEED}" --workload-seeds "${workload_seeds[@]}" --distinct "${BODIES}"
    --long-tail "${LONG_TAIL}"
    --base-url "http://127.0.0.1:${HTTP_PORT}"
    --host "$(django_public_host)"
    --django-service "$(service_name django)"
    --fastapi-service "$(service_name fastapi)"
    --nginx-service "${NGINX_SERVICE}"
    --postgres-service "$(service_name postgres)"
    --invocation "${invocation}"
)
[ -z "${OUT:-}" ] || args+=(--out "${OUT}")
[ "${DRY_RUN}" = 0 ] || args+=(--dry-run)
log "+ .venv/bin/python -m scripts.bench.run ${args[*]}"
exec .venv/bin/python -m scripts.bench.run "${args[@]}"
