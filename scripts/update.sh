#!/usr/bin/env bash
# Rolling update of one service to another image (start-first, health-gated); non-zero if it failed or rolled back.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$#" -eq 2 ] || die "usage: update.sh SERVICE IMAGE   (e.g. update.sh django partscat/django:1a2b3c4)"
# django and fastapi mean their live colour (blue-green); django-green etc. name one colour.
service="$(service_name "$1")"
image="$2"

require_docker
docker service inspect "${service}" >/dev/null 2>&1 || die "no service ${service}"
# Without a registry every node must already hold the image (true on one node after build-images.sh).
docker image inspect "${image}" >/dev/null 2>&1 || die "image ${image} not found locally"

current="$(docker service inspect "${service}" --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}')"
if [ "${current}" = "${image}" ]; then
    log "${service} already runs ${image}"
    exit 0
fi

log "updating ${service}: ${current} -> ${image}"
# The service's update_config decides the rest: one task at a time, new task healthy before an old one stops,
# automatic rollback if a new task fails within the monitor window. --no-resolve-image: local images, no registry.
run docker service update --image "${image}" --no-resolve-image --detach=true --quiet "${service}" >/dev/null

deadline=$((SECONDS + ${UPDATE_TIMEOUT_SECONDS:-600}))
while :; do
    sleep 2
    status="$(docker service inspect "${service}" --format \
        '{{if .UpdateStatus}}{{.UpdateStatus.State}}|{{.UpdateStatus.Message}}{{end}}')"
    case "${status%%|*}" in
        completed)
            log "updated ${service} to ${image}"
            exit 0
            ;;
        rollback_completed | rollback_paused | paused)
            log "update of ${service} failed (${status%%|*}): ${status#*|}"
            docker service ps "${service}" --no-trunc --format '{{.Name}} {{.Image}} {{.CurrentState}} {{.Error}}' | head -10 >&2
            exit 1
            ;;
    esac
    [ "${SECONDS}" -lt "${deadline}" ] || die "update of ${service} not finished after ${UPDATE_TIMEOUT_SECONDS:-600}s (state: ${status:-none})"
done
