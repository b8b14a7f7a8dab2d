#!/usr/bin/env bash
# Blue-green releases of django and fastapi: deploy the idle colour beside the live one, check it through Nginx, switch, roll back, finish.
#
# Usage: bluegreen.sh deploy [IMAGE_TAG] | switch | rollback | finish | status
#   deploy [TAG]  start the idle colour of both apps at the live colour's replica count, on partscat/<app>:TAG
#                 (default: the images scripts/build-images.sh built last), wait until every task is healthy and
#                 in Nginx's rotation, smoke-check it through Nginx's preview listener (inside the Nginx
#                 containers only; no user request reaches it), then check that the live colour still passes
#                 the same checks after the new release's migrations. Records it as the candidate.
#   switch        every new request goes to the candidate colour; requests in flight finish on the old one,
#                 which stays up, warm.
#   rollback      every new request goes back to the other colour (within a second, while it is still up).
#   finish        scale the colour that is not live to 0.
#   status        live colour and since when, the candidate, and per colour: images, healthy tasks, peers.
# Every subcommand is idempotent and exits non-zero when it did not get there. The state is kept as labels
# of the nginx service (partscat.live-colour, partscat.live-since, partscat.candidate-colour), so any manager
# can run this script. Switching tells every Nginx task on this node; with several edge nodes run switch
# and rollback on each (DOCKER_HOST=ssh://node): a task created later reads the label.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

READY_TIMEOUT_SECONDS="${READY_TIMEOUT_SECONDS:-300}"
PREVIEW_PORT=8081
# The live colour on nginx.conf's internal listener: the public port's socket is the holder's, in another
# network namespace (nginx/socket_holder.py).
LIVE_PORT=8082

nginx_containers() { docker ps -q --filter "label=com.docker.swarm.service.name=${NGINX_SERVICE}"; }

# The watcher's probes per service, as seen by one nginx task: how many peers of SERVICE are in rotation.
peers_in_rotation() {
    local container="$1" service="$2"
    docker exec "${container}" cat /tmp/nginx/upstreams.json \
        | python3 -c 'import json, sys; print(len(json.load(sys.stdin).get(sys.argv[1], {}).get("in_rotation", [])))' "${service}"
}

# True when both apps of COLOUR run REPLICAS healthy tasks (REPLICAS > 0) and every Nginx task routes to all of them.
colour_ready() {
    local colour="$1" replicas="$2" app service counts container
    [ "${replicas}" -gt 0 ] || return 1
    for app in "${APPS[@]}"; do
        service="${STACK_NAME}_${app}-${colour}"
        counts="$(docker service ls --filter "name=${service}" --format '{{.Name}} {{.Replicas}}' | awk -v s="${service}" '$1 == s {print $2}')"
        [ "${counts}" = "${replicas}/${replicas}" ] || return 1
        for container in $(nginx_containers); do
            [ "$(peers_in_rotation "${container}" "${app}-${colour}")" = "${replicas}" ] || return 1
        done
    done
}

wait_colour_ready() {
    local colour="$1" replicas="$2" deadline=$((SECONDS + READY_TIMEOUT_SECONDS)) app state
    until colour_ready "${colour}" "${replicas}"; do
        for app in "${APPS[@]}"; do
            state="$(update_state "${STACK_NAME}_${app}-${colour}")"
            case "$(update_state_kind "${state}")" in
                rolled_back | paused) die "${app}-${colour} did not turn healthy (update ${state}); the live colour is untouched" ;;
            esac
        done
        [ "${SECONDS}" -lt "${deadline}" ] || die "${colour} not healthy and in rotation after ${READY_TIMEOUT_SECONDS}s"
        sleep 2
    done
}

# The smoke checks, run inside every Nginx task against PORT: 8082 is what users get, 8081 the idle colour.
smoke_check() {
    local port="$1" container path host
    host="$(django_public_host)"
    for container in $(nginx_containers); do
        for path in /mark/ /model/; do
            docker exec "${container}" python3 /opt/healthcheck/http_probe.py --host "${host}" \
                "http://127.0.0.1:${port}${path}" >/dev/null || return 1
        done
        for path in /search/part/ /fastapi/search/part/; do
            docker exec "${container}" python3 /opt/healthcheck/http_probe.py --host "${host}" --json '{"page": 1}' \
                "http://127.0.0.1:${port}${path}" >/dev/null || return 1
        done
    done
}

# Point every Nginx task of this node at COLOUR at once, then record it in the swarm.
set_live() {
    local colour="$1" container started=${SECONDS}
    mapfile -t containers < <(nginx_containers)
    [ "${#containers[@]}" -gt 0 ] || die "no running nginx task on this node"
    for container in "${containers[@]}"; do
        docker exec "${container}" python3 /opt/nginx/upstream_watcher.py live "${colour}" >/dev/null \
            || die "nginx task ${container} did not switch to ${colour} (no task of it in rotation? run bluegreen.sh status)"
    done
    log "new requests go to ${colour} (${#containers[@]} nginx task(s), $((SECONDS - started))s)"
    # Service labels are not part of the task template: changing them restarts nothing.
    run docker service update --detach --quiet --label-add "partscat.live-colour=${colour}" \
        --label-add "partscat.live-since=$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${NGINX_SERVICE}" >/dev/null
}

cmd_deploy() {
    local tag="${1:-}" live idle replicas app image
    live="$(live_colour)"
    idle="$(other_colour "${live}")"
    replicas="$(service_replicas "${STACK_NAME}_django-${live}")"
    if [ "$(service_replicas "${STACK_NAME}_django-${idle}")" -ne 0 ]; then
        log "note: ${idle} still runs a release (a candidate, or the previous one not finished); deploying over it"
    fi
    [ -n "${tag}" ] || load_images_env
    for app in "${APPS[@]}"; do
        local built_var="${app^^}_IMAGE"
        image="${tag:+partscat/${app}:${tag}}"
        image="${image:-${!built_var}}"
        docker image inspect "${image}" >/dev/null 2>&1 || die "image ${image} not found locally"
        log "starting ${app}-${idle}: ${image} x${replicas} (live: ${app}-${live} $(service_image "${STACK_NAME}_${app}-${live}"))"
        run docker service update --detach --quiet --no-resolve-image --image "${image}" --replicas "${replicas}" \
            "${STACK_NAME}_${app}-${idle}" >/dev/null
    done
    wait_colour_ready "${idle}" "${replicas}"
    log "${idle} is healthy and in rotation on the preview listener; smoke-checking it through Nginx"
    smoke_check "${PREVIEW_PORT}" || die "${idle} fails its smoke checks through Nginx's preview; not a candidate (users still on ${live})"
    # The new release migrated before its tasks turned healthy: the old code must still work on that schema.
    smoke_check "${LIVE_PORT}" \
        || die "after the new release's migrations the live colour ${live} fails its smoke checks: the migration is not backward compatible; do not switch (README: expand/contract)"
    run docker service update --detach --quiet --label-add "partscat.candidate-colour=${idle}" "${NGINX_SERVICE}" >/dev/null
    log "deployed ${idle} beside ${live}; next: bluegreen.sh switch"
}

cmd_switch() {
    local candidate live replicas
    candidate="$(nginx_label partscat.candidate-colour)"
    [ -n "${candidate}" ] || die "no candidate: run bluegreen.sh deploy first"
    live="$(live_colour)"
    replicas="$(service_replicas "${STACK_NAME}_django-${candidate}")"
    colour_ready "${candidate}" "${replicas}" || die "${candidate} is not fully healthy and in rotation; not switching"
    if [ "${live}" = "${candidate}" ]; then
        log "${candidate} is already live; making sure every nginx task agrees"
    fi
    set_live "${candidate}"
}

cmd_rollback() {
    local candidate previous
    candidate="$(nginx_label partscat.candidate-colour)"
    [ -n "${candidate}" ] || die "no candidate: nothing was deployed with bluegreen.sh"
    previous="$(other_colour "${candidate}")"
    # Rollback is for the bad moment: no checks of its own. Each Nginx task refuses a colour without a task in
    # rotation for every app (finish retired it?), and switches in the same step otherwise.
    set_live "${previous}"
}

cmd_finish() {
    local live old app
    live="$(live_colour)"
    old="$(other_colour "${live}")"
    for app in "${APPS[@]}"; do
        if [ "$(service_replicas "${STACK_NAME}_${app}-${old}")" -ne 0 ]; then
            run docker service scale --detach "${STACK_NAME}_${app}-${old}=0" >/dev/null
        fi
    done
    local deadline=$((SECONDS + READY_TIMEOUT_SECONDS))
    # Its tasks drain and stop gracefully (no user traffic reaches them any more).
    while [ -n "$(docker ps -q --filter "label=com.docker.swarm.service.name=${STACK_NAME}_django-${old}")$(docker ps -q --filter "label=com.docker.swarm.service.name=${STACK_NAME}_fastapi-${old}")" ]; do
        [ "${SECONDS}" -lt "${deadline}" ] || die "${old} tasks still running after ${READY_TIMEOUT_SECONDS}s"
        sleep 1
    done
    log "retired ${old}; ${live} serves alone"
}

cmd_status() {
    local live colour app service container
    live="$(live_colour)"
    printf 'live:       %s since %s\n' "${live}" "$(nginx_label partscat.live-since || true)"
    printf 'candidate:  %s\n' "$(nginx_label partscat.candidate-colour)"
    container="$(nginx_containers | head -n 1)"
    for colour in blue green; do
        printf '%s%s\n' "${colour}" "$([ "${colour}" = "${live}" ] && echo ' (live)' || echo '')"
        for app in "${APPS[@]}"; do
            service="${STACK_NAME}_${app}-${colour}"
            printf '  %-8s %-44s healthy/desired %-6s in nginx rotation %s\n' "${app}" "$(service_image "${service}")" \
                "$(docker service ls --filter "name=${service}" --format '{{.Name}} {{.Replicas}}' | awk -v s="${service}" '$1 == s {print $2}')" \
                "$([ -n "${container}" ] && peers_in_rotation "${container}" "${app}-${colour}" || echo '?')"
        done
    done
}

require_docker
docker service inspect "${NGINX_SERVICE}" >/dev/null 2>&1 || die "stack ${STACK_NAME} is not deployed (make up)"
case "${1:-}" in
    deploy) cmd_deploy "${2:-}" ;;
    switch) cmd_switch ;;
    rollback) cmd_rollback ;;
    finish) cmd_finish ;;
    status) cmd_status ;;
    *) die "usage: bluegreen.sh deploy [IMAGE_TAG] | switch | rollback | finish | status" ;;
esac
