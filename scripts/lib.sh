# Shared helpers sourced by every script in scripts/ (not run directly).
# shellcheck shell=bash

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Exported: stack.yml names its secrets ${STACK_NAME:-partscat}_*, and `docker stack deploy` reads it from the environment.
export STACK_NAME="${STACK_NAME:-partscat}"
CACHE_DIR="${REPO_ROOT}/.cache"
IMAGES_ENV="${CACHE_DIR}/images.env"
export HTTP_PORT="${HTTP_PORT:-8080}"

NGINX_SERVICE="${STACK_NAME}_nginx"
# shellcheck disable=SC2034 # read by the scripts that source this file
APPS=(django fastapi)

# The stack's secrets, the one list that deploy.sh creates, down.sh removes and stack.yml names (as
# ${STACK_NAME}_<name>; tests/scripts/test_stack_secrets.py holds them equal). Each database role has a
# password secret and a URL secret made from one random value: <role>_password and <role>_url.
DATABASE_ROLE_SECRETS=(db_owner db_app)
RANDOM_SECRETS=(django_secret_key jobs_api_token redis_password redis_cache_password edge_operator_token)

# Every secret name of the stack, one a line, with the stack's prefix.
stack_secret_names() {
    local role name
    for role in "${DATABASE_ROLE_SECRETS[@]}"; do
        printf '%s_%s_password\n%s_%s_url\n' "${STACK_NAME}" "${role}" "${STACK_NAME}" "${role}"
    done
    for name in "${RANDOM_SECRETS[@]}"; do
        printf '%s_%s\n' "${STACK_NAME}" "${name}"
    done
}

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Run a command after printing it, so every script shows what it does.
run() { log "+ $*"; "$@"; }

ensure_cache_dir() {
    mkdir -p "${CACHE_DIR}"
    # The cache holds wheels and generated env files; git must never see it.
    [ -f "${CACHE_DIR}/.gitignore" ] || printf '*\n' >"${CACHE_DIR}/.gitignore"
}

require_docker() {
    docker info >/dev/null 2>&1 || die "docker daemon not reachable; run scripts/docker-engine.sh"
}

# A label of the nginx service, where the blue-green state lives (empty when unset or no stack yet).
nginx_label() {
    local value
    value="$(docker service inspect "${NGINX_SERVICE}" --format "{{index .Spec.Labels \"$1\"}}" 2>/dev/null || true)"
    [ "${value}" = "<no value>" ] || printf '%s' "${value}"
}

# The colour that takes user traffic: blue until the first switch.
live_colour() {
    local colour
    colour="$(nginx_label partscat.live-colour)"
    printf '%s' "${colour:-blue}"
}

other_colour() { if [ "$1" = blue ]; then printf green; else printf blue; fi; }

# The Swarm service behind a name: an app name (django, fastapi) means its live colour; others pass through.
service_name() {
    local name="${1#"${STACK_NAME}"_}"
    case "${name}" in
        django | fastapi) printf '%s_%s-%s' "${STACK_NAME}" "${name}" "$(live_colour)" ;;
        *) printf '%s_%s' "${STACK_NAME}" "${name}" ;;
    esac
}

# A host name Django accepts (the first of the live django service's DJANGO_ALLOWED_HOSTS), for checks that
# go through Nginx: with a real domain configured, Django refuses Host: 127.0.0.1. "*" and ".example.com"
# (a domain and its subdomains) are turned into a name that matches.
django_public_host() {
    local hosts first
    hosts="$(docker service inspect "$(service_name django)" \
        --format '{{range .Spec.TaskTemplate.ContainerSpec.Env}}{{println .}}{{end}}' 2>/dev/null |
        sed -n 's/^DJANGO_ALLOWED_HOSTS=//p')"
    first="${hosts%%,*}"
    first="${first#.}"
    case "${first}" in "" | "*") first=localhost ;; esac
    printf '%s\n' "${first}"
}

service_image() { docker service inspect "$1" --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}'; }
service_replicas() { docker service inspect "$1" --format '{{.Spec.Mode.Replicated.Replicas}}'; }

# Load the image references written by build-images.sh into the environment.
load_images_env() {
    [ -f "${IMAGES_ENV}" ] || die "${IMAGES_ENV} missing; run scripts/build-images.sh first"
    set -a
    # shellcheck disable=SC1090
    . "${IMAGES_ENV}"
    set +a
}

# What a Swarm UpdateStatus.State means for whoever waits on it: pending (updating, rollback_started),
# completed, rolled_back (rollback_completed), paused (paused, rollback_paused: Swarm gave up and waits for an
# operator), or none (no update ever ran). The one reading of those states for every script.
update_state_kind() {
    case "$1" in
        updating | rollback_started) printf pending ;;
        completed) printf completed ;;
        rollback_completed) printf rolled_back ;;
        paused | rollback_paused) printf paused ;;
        "") printf none ;;
        *) printf pending ;;
    esac
}

# Swarm's UpdateStatus.State of service $1 (empty when no update ever ran).
update_state() {
    docker service inspect "$1" --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}'
}

# Exit codes of wait_for_update.
UPDATE_COMPLETED=0
UPDATE_ROLLED_BACK=10
UPDATE_PAUSED=11
UPDATE_TIMED_OUT=12

# Poll service $1's update (or rollback) every UPDATE_POLL_SECONDS (2) until it ends or $2 seconds passed.
# Sets UPDATE_STATE and UPDATE_MESSAGE (Swarm's last state and message) and returns UPDATE_COMPLETED,
# UPDATE_ROLLED_BACK, UPDATE_PAUSED or UPDATE_TIMED_OUT; the caller decides which of them is a success
# (a rollback waits for rolled_back). Call it as `wait_for_update ... || outcome=$?` under set -e.
wait_for_update() {
    local service="$1" timeout="$2" deadline status
    deadline=$((SECONDS + timeout))
    UPDATE_STATE=""
    UPDATE_MESSAGE=""
    while :; do
        sleep "${UPDATE_POLL_SECONDS:-2}"
        status="$(docker service inspect "${service}" --format \
            '{{if .UpdateStatus}}{{.UpdateStatus.State}}|{{.UpdateStatus.Message}}{{end}}')"
        UPDATE_STATE="${status%%|*}"
        # shellcheck disable=SC2034 # read by the callers (update.sh, rollback.sh)
        UPDATE_MESSAGE="${status#*|}"
        case "$(update_state_kind "${UPDATE_STATE}")" in
            completed) return "${UPDATE_COMPLETED}" ;;
            rolled_back) return "${UPDATE_ROLLED_BACK}" ;;
            paused) return "${UPDATE_PAUSED}" ;;
        esac
        [ "${SECONDS}" -lt "${deadline}" ] || return "${UPDATE_TIMED_OUT}"
    done
}

# Wait until every service of the stack runs all its replicas and no update started since $1 (epoch) is
# still going; fail at once if such an update rolled back or paused. Swarm counts a task with a healthcheck
# as running only once it is healthy, so "2/2" in `docker service ls` means two healthy tasks, on any node.
wait_stack_converged() {
    local since="$1" timeout="${2:-300}" deadline pending failed svc line
    deadline=$((SECONDS + timeout))
    # The orchestrator starts updates asynchronously: give it a moment before the first look.
    sleep 2
    while :; do
        pending=""
        failed=""
        for svc in $(docker stack services "${STACK_NAME}" --format '{{.Name}}'); do
            line="$(docker service inspect "${svc}" --format \
                '{{if .UpdateStatus}}{{.UpdateStatus.State}} {{if .UpdateStatus.StartedAt}}{{.UpdateStatus.StartedAt.Unix}}{{else}}0{{end}} {{.UpdateStatus.Message}}{{end}}')"
            if [ -n "${line}" ] && [ "$(echo "${line}" | cut -d' ' -f2)" -ge "${since}" ]; then
                case "$(update_state_kind "${line%% *}")" in
                    pending) pending+="${svc#"${STACK_NAME}"_}(${line%% *}) " ;;
                    rolled_back | paused) failed+="${svc}: ${line%% *}: $(echo "${line}" | cut -d' ' -f3-); " ;;
                esac
            fi
        done
        pending+="$(stack_unhealthy_services)$(stack_stale_services)"
        if [ -n "${failed}" ]; then
            log "update failed: ${failed}"
            return 1
        fi
        if [ -z "${pending}" ]; then
            log "all services of ${STACK_NAME} converged and healthy"
            return 0
        fi
        if [ "${SECONDS}" -ge "${deadline}" ]; then
            log "not converged after ${timeout}s: ${pending}"
            return 1
        fi
        sleep 2
    done
}

# Print the services running fewer healthy tasks than desired, as name(running/desired).
stack_unhealthy_services() {
    local name replicas running desired
    docker stack services "${STACK_NAME}" --format '{{.Name}} {{.Replicas}}' | while read -r name replicas _; do
        running="${replicas%%/*}"
        desired="${replicas#*/}"
        [ "${running}" = "${desired}" ] || printf '%s(%s) ' "${name#"${STACK_NAME}"_}" "${replicas}"
    done
}

# Print the services with a task meant to run that is not on the service's current image.
stack_stale_services() {
    local svc image
    for svc in $(docker stack services "${STACK_NAME}" --format '{{.Name}}'); do
        image="$(docker service inspect "${svc}" --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}')"
        if docker service ps "${svc}" --filter desired-state=running --format '{{.Image}}' | grep -qvxF "${image}"; then
            printf '%s(old image) ' "${svc#"${STACK_NAME}"_}"
        fi
    done
}

# Print the task states of the stack (for failure messages).
stack_task_report() {
    docker stack ps "${STACK_NAME}" --no-trunc --format '{{.Name}} {{.Image}} {{.CurrentState}} {{.Error}}' | head -30 >&2
}
