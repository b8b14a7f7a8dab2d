#!/usr/bin/env bash
# Apply a changed nginx.conf to every running Nginx task on this node in place (nginx -t, drain, reload): no task is replaced.
#
# Usage: edge-config.sh [NGINX_CONF]   (default: nginx/nginx.conf of this checkout)
# Each task's watcher tests the file, has the running workers close every client connection after its next
# response for DRAIN_SECONDS, then reloads; a file that fails `nginx -t` changes nothing and exits non-zero.
# A task started later (restart, rescheduling) starts from its image's nginx.conf: commit the change and
# ship it in the next Nginx image (scripts/build-images.sh, then update.sh nginx). On several edge nodes,
# run this on each (DOCKER_HOST=ssh://node), one node at a time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

conf="${1:-${REPO_ROOT}/nginx/nginx.conf}"
[ -f "${conf}" ] || die "no such file: ${conf}"
require_docker

mapfile -t containers < <(docker ps -q --filter "label=com.docker.swarm.service.name=${STACK_NAME}_nginx")
[ "${#containers[@]}" -gt 0 ] || die "no running ${STACK_NAME}_nginx task on this node"
for container in "${containers[@]}"; do
    log "applying ${conf} to nginx task ${container}"
    docker exec -i "${container}" python3 /opt/nginx/upstream_watcher.py apply-config <"${conf}" \
        || die "nginx task ${container} refused ${conf}; it still runs its previous configuration"
done
log "applied to ${#containers[@]} nginx task(s)"
