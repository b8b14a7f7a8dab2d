#!/usr/bin/env bash
# Roll one service back to its previous spec (image included) and wait until that finished; non-zero on failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$#" -ge 1 ] && [ "$#" -le 2 ] || die "usage: rollback.sh SERVICE [--force]"
# django and fastapi mean their live colour (blue-green); django-green etc. name one colour.
service="$(service_name "$1")"
force="${2:-}"

require_docker
docker service inspect "${service}" >/dev/null 2>&1 || die "no service ${service}"

state="$(docker service inspect "${service}" --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}')"
# Swarm keeps one previous spec: rolling back twice would undo the rollback. Refuse unless asked to.
if [ "${state}" = "rollback_completed" ] && [ "${force}" != "--force" ]; then
    log "${service} is already rolled back ($(docker service inspect "${service}" --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}')); --force rolls back again"
    exit 0
fi
docker service inspect "${service}" --format '{{if .PreviousSpec}}yes{{end}}' | grep -q yes \
    || die "${service} has no previous spec to roll back to"

log "rolling back ${service}: $(docker service inspect "${service}" --format '{{.Spec.TaskTemplate.ContainerSpec.Image}} -> {{.PreviousSpec.TaskTemplate.ContainerSpec.Image}}')"
run docker service rollback --detach=true --quiet "${service}" >/dev/null

deadline=$((SECONDS + ${UPDATE_TIMEOUT_SECONDS:-600}))
while :; do
    sleep 2
    status="$(docker service inspect "${service}" --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}|{{.UpdateStatus.Message}}{{end}}')"
    case "${status%%|*}" in
        rollback_completed)
            log "rolled back ${service} to $(docker service inspect "${service}" --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}')"
            exit 0
            ;;
        rollback_paused | paused)
            die "rollback of ${service} paused: ${status#*|}"
            ;;
    esac
    [ "${SECONDS}" -lt "${deadline}" ] || die "rollback of ${service} not finished after ${UPDATE_TIMEOUT_SECONDS:-600}s (state: ${status:-none})"
done
