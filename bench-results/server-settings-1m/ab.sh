#!/usr/bin/env bash
# shared_buffers 128 MB (PostgreSQL's default) against 1 GB, alternating, on the running stack at 1 000 000 parts:
# the database path of FastAPI's search (search_path.py: its own part_search on one pooled connection, the
# bodies of `make bench`'s task workload drawn by weight, 2 000 searches after 300 to warm up), and the share of
# blocks PostgreSQL read from the kernel rather than found in its own cache.
# Usage: ab.sh BODIES_TSV [ROUNDS]   (the stack must hold the 1M catalog: scripts/seed.sh --clear --parts 1000000)
# Each setting is applied with ALTER SYSTEM and a Swarm restart of the postgres service (a running stack's
# image may predate POSTGRES_SHARED_BUFFERS); the setting is reset at the end.
set -euo pipefail
bodies=$1
rounds=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
stack=${STACK_NAME:-partscat}
container() { docker ps -q --filter "label=com.docker.swarm.service.name=${stack}_$1" --filter health=healthy | head -n 1; }
psql_() { docker exec "$(container postgres)" psql -U postgres -d partscat -Atc "$1"; }
restart() {
  psql_ "ALTER SYSTEM SET shared_buffers = '$1'" >/dev/null
  docker service update --quiet --force "${stack}_postgres" >/dev/null
  until [ -n "$(container postgres)" ]; do sleep 1; done
}
trap 'psql_ "ALTER SYSTEM RESET shared_buffers" >/dev/null; docker service update --quiet --force "${stack}_postgres" >/dev/null' EXIT
fastapi=$(container fastapi-blue)
docker exec -u 0 "${fastapi}" mkdir -p /tmp/ab/current
docker cp "${bodies}" "${fastapi}:/tmp/ab/bodies.tsv"
docker cp "${here}/search_path.py" "${fastapi}:/tmp/ab/search_path.py"
for round in $(seq "${rounds}"); do
  for setting in 128MB 1GB; do
    restart "${setting}"
    before=$(psql_ "SELECT blks_read || ' ' || blks_hit FROM pg_stat_database WHERE datname = 'partscat'")
    figures=$(docker exec "${fastapi}" python /tmp/ab/search_path.py current "${round}" 2000 2>/dev/null | tail -n 1)
    after=$(psql_ "SELECT blks_read || ' ' || blks_hit FROM pg_stat_database WHERE datname = 'partscat'")
    read_share=$(echo "${before} ${after}" | awk '{r = $3 - $1; h = $4 - $2; printf "%.1f", 100 * r / (r + h)}')
    echo "round ${round} shared_buffers $(psql_ 'SHOW shared_buffers'): ${figures#current }, blocks read from the kernel ${read_share} %"
  done
done
