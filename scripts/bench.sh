#!/usr/bin/env bash
# `make bench`: measure both searches and their ceilings on the running stack; write bench-results/<date>-<commit>/.
#
# Variables (defaults): PARTS ("10000 1000000"), RUNS (3), DURATION (10 s a point), WARMUP (5 s), CONNECTIONS
# ("8 32 128"), THREADS (2), DATA_SEED (1), WORKLOAD_SEED (1), BODIES (1200 distinct search bodies), OUT (run
# folder). Each data size is seeded through the stack first (scripts/seed.sh --clear); at the end the catalog
# holds the 10 000 parts of seed 1 that `make up` seeds. The runner is scripts/bench/run.py.
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
WORKLOAD_SEED="${WORKLOAD_SEED:-1}"
BODIES="${BODIES:-1200}"

# wrk on the host; pgbench runs inside the postgres task (its image's PostgreSQL ships it); matplotlib plots.
bash scripts/system-packages.sh
bash scripts/venv.sh requirements/bench.txt
require_docker
docker service inspect "$(service_name django)" >/dev/null 2>&1 || die "no stack ${STACK_NAME} running; make up first"

invocation="PARTS=\"${PARTS}\" RUNS=${RUNS} DURATION=${DURATION} WARMUP=${WARMUP} CONNECTIONS=\"${CONNECTIONS}\""
invocation+=" THREADS=${THREADS} DATA_SEED=${DATA_SEED} WORKLOAD_SEED=${WORKLOAD_SEED} BODIES=${BODIES} make bench"

read -ra parts <<<"${PARTS}"
read -ra connections <<<"${CONNECTIONS}"
args=(
    measure
    --parts "${parts[@]}"
    --connections "${connections[@]}"
    --runs "${RUNS}" --duration "${DURATION}" --warmup "${WARMUP}" --threads "${THREADS}"
    --data-seed "${DATA_SEED}" --workload-seed "${WORKLOAD_SEED}" --distinct "${BODIES}"
    --base-url "http://127.0.0.1:${HTTP_PORT}"
    --host "$(django_public_host)"
    --django-service "$(service_name django)"
    --fastapi-service "$(service_name fastapi)"
    --nginx-service "${NGINX_SERVICE}"
    --postgres-service "$(service_name postgres)"
    --invocation "${invocation}"
)
[ -z "${OUT:-}" ] || args+=(--out "${OUT}")
log "+ .venv/bin/python -m scripts.bench.run ${args[*]}"
exec .venv/bin/python -m scripts.bench.run "${args[@]}"
