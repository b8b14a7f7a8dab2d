#!/usr/bin/env bash
# Roll one service back to its previous spec (image included) and wait until that finished; non-zero on failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2015 # die is meant whenever either test fails
[ "$#" -ge 1 ] && [ "$#" -le 2 ] || die "usage: rollback.sh SERVICE [--force]"
# django and fastapi mean their live colour (blue-green); django-green etc. name one colour.
service="$(service_name "$1")"
force="${2:-}"

require_docker
docker service inspect "${service}" >/dev/null 2>&1 || die "no service ${service}"

# Swarm keeps one previous spec: rolling back twice would undo the rollback. Refuse unless asked to.
if [ "$(update_state_kind "$(update_state "${service}")")" = rolled_back ] && [ "${force}" != "--force" ]; then
    log "${service} is already rolled back ($(docker service inspect "${service}" --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}')); --force rolls back again"
    exit 0
fi
docker service inspect "${service}" --format '{{if .PreviousSpec}}yes{{end}}' | grep -q yes \
    || die "${service} has no previous spec to roll back to"

log "rolling back ${service}: $(docker service inspect "${service}" --format '{{.Spec.TaskTemplate.ContainerSpec.Image}} -> {{.PreviousSpec.TaskTemplate.ContainerSpec.Image}}')"
run docker service rollback --detach=true --quiet "${service}" >/dev/null

timeout="${UPDATE_TIMEOUT_SECONDS:-600}"
outcome=0
wait_for_update "${service}" "${timeout}" || outcome=$?
case "${outcome}" in
    "${UPDATE_ROLLED_BACK}")
        log "rolled back ${service} to $(docker service inspect "${service}" --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}')"
        ;;
    "${UPDATE_PAUSED}") die "rollback of ${service} paused: ${UPDATE_MESSAGE}" ;;
    *) die "rollback of ${service} not finished after ${timeout}s (state: ${UPDATE_STATE:-none})" ;;
esac
