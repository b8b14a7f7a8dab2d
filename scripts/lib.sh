# Shared helpers of the bash scripts left in scripts/ (engine, seed, bench, cluster; not run directly). The
# deploy, build and down logic is the control plane's (scripts/control_plane/).
# shellcheck shell=bash

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Exported: stack.yml names its secrets ${STACK_NAME:-partscat}_*, and `docker stack deploy` reads it from the environment.
export STACK_NAME="${STACK_NAME:-partscat}"
CACHE_DIR="${REPO_ROOT}/.cache"
export HTTP_PORT="${HTTP_PORT:-8080}"

# shellcheck disable=SC2034 # read by the scripts that source this file (bench.sh)
NGINX_SERVICE="${STACK_NAME}_nginx"

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
