#!/usr/bin/env bash
# Remove the stack and wait until its containers and networks are gone; --volumes also deletes data and secrets.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

remove_data=0
case "${1:-}" in
    "") ;;
    --volumes) remove_data=1 ;;
    *) die "usage: down.sh [--volumes]" ;;
esac

require_docker
if docker stack ls --format '{{.Name}}' | grep -qx "${STACK_NAME}"; then
    run docker stack rm "${STACK_NAME}" >/dev/null
else
    log "stack ${STACK_NAME} is not deployed"
fi

deadline=$((SECONDS + 120))
while [ -n "$(docker ps -aq --filter "label=com.docker.stack.namespace=${STACK_NAME}")" ] \
    || docker network inspect "${STACK_NAME}_backend" >/dev/null 2>&1 \
    || docker network inspect "${STACK_NAME}_redis" >/dev/null 2>&1 \
    || docker network inspect "${STACK_NAME}_cache" >/dev/null 2>&1; do
    [ "${SECONDS}" -lt "${deadline}" ] || die "stack ${STACK_NAME} still has containers or its networks after 120s"
    sleep 2
done
log "stack ${STACK_NAME} removed"

if [ "${remove_data}" = 1 ]; then
    for volume in pgdata redisdata edge-socket; do
        if docker volume inspect "${STACK_NAME}_${volume}" >/dev/null 2>&1; then
            run docker volume rm "${STACK_NAME}_${volume}" >/dev/null
        fi
    done
    # With the data gone, the next deploy starts from scratch with new secrets: the control plane's list, and
    # the two names used before the role split.
    for secret in $(python3 "${REPO_ROOT}/scripts/stackctl.py" secret-names) "${STACK_NAME}_db_password" "${STACK_NAME}_database_url"; do
        if docker secret inspect "${secret}" >/dev/null 2>&1; then
            run docker secret rm "${secret}" >/dev/null
        fi
    done
    # Copies of the TLS certificates and keys that deploy.sh was given (one pair per certificate).
    for secret in $(docker secret ls --filter "name=${STACK_NAME}_tls_" --format '{{.Name}}'); do
        run docker secret rm "${secret}" >/dev/null
    done
else
    log "volumes and secrets kept (use --volumes to delete them)"
fi
