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

timeout="${UPDATE_TIMEOUT_SECONDS:-600}"
outcome=0
wait_for_update "${service}" "${timeout}" || outcome=$?
case "${outcome}" in
    "${UPDATE_COMPLETED}")
        log "updated ${service} to ${image}"
        ;;
    "${UPDATE_ROLLED_BACK}" | "${UPDATE_PAUSED}")
        log "update of ${service} failed (${UPDATE_STATE}): ${UPDATE_MESSAGE}"
        docker service ps "${service}" --no-trunc --format '{{.Name}} {{.Image}} {{.CurrentState}} {{.Error}}' | head -10 >&2
        exit 1
        ;;
    *) die "update of ${service} not finished after ${timeout}s (state: ${UPDATE_STATE:-none})" ;;
esac
