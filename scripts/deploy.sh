#!/usr/bin/env bash
# Deploy (or re-deploy) the stack: ensure the Postgres node label and secrets, `docker stack deploy`, wait until healthy.
# --new-database: no node carries the partscat.postgres label and this is not a first deploy; label this node
# anyway, and let PostgreSQL start here with whatever this node's volume holds (nothing: an empty database).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/postgres-node.sh"

new_database=0
while [ "$#" -gt 0 ]; do
    case "$1" in
        --new-database) new_database=1 ;;
        *) die "usage: deploy.sh [--new-database]" ;;
    esac
    shift
done

# The database and its two roles (scripts/images/postgres-roles.sql); stack.yml and the URL secrets use them.
export DB_NAME=partscat DB_OWNER_ROLE=partscat_owner DB_APP_ROLE=partscat_app

require_docker
load_images_env
cd "${REPO_ROOT}"

secret_exists() { docker secret inspect "$1" >/dev/null 2>&1; }

# 40 random alphanumerics: strong, and safe inside a postgres:// URL without escaping.
random_value() { LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 40 || true; }

# Values go through stdin, never argv or the environment, so `ps` and `docker inspect` never show them.
secret_create() {
    local name="$1" value="$2"
    if printf '%s' "${value}" | docker secret create --label "com.docker.stack.namespace=${STACK_NAME}" "${name}" - >/dev/null; then
        log "created secret ${name}"
    else
        # A concurrent deploy may have created it a moment ago; anything else is an error.
        secret_exists "${name}" || die "could not create secret ${name}"
        log "secret ${name} was created concurrently"
    fi
}

# A role's password secret and its URL secret are made together from one random value: a secret cannot be
# read back, so one cannot be rebuilt from the other. PostgreSQL applies the passwords on every start, so a
# database volume older than its secrets is fine (the roles get the new passwords).
ensure_database_role_secrets() {
    local role="$1" password_secret="$2" url_secret="$3" password
    if secret_exists "${password_secret}" && secret_exists "${url_secret}"; then
        log "secrets ${password_secret}, ${url_secret} exist"
    elif secret_exists "${password_secret}" || secret_exists "${url_secret}"; then
        die "only one of ${password_secret} / ${url_secret} exists; remove it (docker secret rm) so that both are made again"
    else
        password="$(random_value)"
        secret_create "${password_secret}" "${password}"
        secret_create "${url_secret}" "postgres://${role}:${password}@postgres:5432/${DB_NAME}"
    fi
}

ensure_secrets() {
    # The names come from lib.sh (DATABASE_ROLE_SECRETS, RANDOM_SECRETS), the list stack.yml is tested against.
    local -A role_of=([db_owner]="${DB_OWNER_ROLE}" [db_app]="${DB_APP_ROLE}")
    local pair name
    for pair in "${DATABASE_ROLE_SECRETS[@]}"; do
        [ -n "${role_of[${pair}]:-}" ] || die "no database role for the secrets ${pair}_* (lib.sh DATABASE_ROLE_SECRETS)"
        ensure_database_role_secrets "${role_of[${pair}]}" "${STACK_NAME}_${pair}_password" "${STACK_NAME}_${pair}_url"
    done
    # redis_cache_password: the search cache's own Redis (stack.yml, redis-cache), apart from Celery's broker.
    for name in "${RANDOM_SECRETS[@]}"; do
        if secret_exists "${STACK_NAME}_${name}"; then
            log "secret ${STACK_NAME}_${name} exists"
        else
            secret_create "${STACK_NAME}_${name}" "$(random_value)$(random_value)"
        fi
    done
}

secret_create_from_file() {
    local name="$1" file="$2"
    if docker secret create --label "com.docker.stack.namespace=${STACK_NAME}" "${name}" "${file}" >/dev/null; then
        log "created secret ${name} from ${file}"
    else
        secret_exists "${name}" || die "could not create secret ${name}"
        log "secret ${name} was created concurrently"
    fi
}

# HTTPS is optional (README, "HTTPS"). TLS_CERT_FILE and TLS_KEY_FILE, PEM files on this machine, become secrets
# named by the certificate's hash, and stack.tls.yml adds the TLS listener. Without them a re-deploy keeps the
# certificate that the nginx service already has, so `make up` does not drop HTTPS. TLS_DISABLE=1 removes the
# listener. A stack that never had a certificate is deployed from stack.yml alone, as before.
compose_files=(--compose-file stack.yml)

# Refuse a pair that Nginx would refuse, before the deploy replaces the running Nginx task with one that cannot start.
tls_pair_check() {
    local cert="$1" key="$2" cert_public key_public
    if ! command -v openssl >/dev/null 2>&1; then
        log "openssl not found: not checking that TLS_KEY_FILE is the key of TLS_CERT_FILE"
        return 0
    fi
    cert_public="$(openssl x509 -noout -pubkey -in "${cert}" 2>/dev/null)" || die "TLS_CERT_FILE ${cert} is not a PEM certificate"
    # An empty passphrase: a key that needs one fails here instead of prompting (Nginx could not read it either).
    key_public="$(openssl pkey -pubout -passin pass: -in "${key}" 2>/dev/null)" \
        || die "TLS_KEY_FILE ${key} is not an unencrypted PEM private key"
    if [ -z "${cert_public}" ] || [ "${cert_public}" != "${key_public}" ]; then
        die "TLS_KEY_FILE ${key} is not the key of the certificate in TLS_CERT_FILE ${cert}"
    fi
}

ensure_tls() {
    local cert="${TLS_CERT_FILE:-}" key="${TLS_KEY_FILE:-}" hash running item
    TLS_CERT_SECRET=""
    TLS_KEY_SECRET=""
    if [ "${TLS_DISABLE:-0}" = 1 ]; then
        log "TLS_DISABLE=1: plain HTTP only"
        return 0
    fi
    if [ -z "${cert}" ] && [ -z "${key}" ]; then
        running="$(docker service inspect "${NGINX_SERVICE}" \
            --format '{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{.File.Name}}={{.SecretName}} {{end}}' 2>/dev/null || true)"
        for item in ${running}; do
            case "${item}" in
                tls_cert=*) TLS_CERT_SECRET="${item#tls_cert=}" ;;
                tls_key=*) TLS_KEY_SECRET="${item#tls_key=}" ;;
            esac
        done
        if [ -z "${TLS_CERT_SECRET}" ] || [ -z "${TLS_KEY_SECRET}" ]; then
            return 0
        fi
        log "HTTPS: keeping the certificate the nginx service uses (${TLS_CERT_SECRET})"
    else
        if [ -z "${cert}" ] || [ -z "${key}" ]; then
            die "give both TLS_CERT_FILE and TLS_KEY_FILE, or neither"
        fi
        local file
        for file in "${cert}" "${key}"; do
            if [ ! -f "${file}" ] || [ ! -r "${file}" ]; then
                die "${file} (TLS_CERT_FILE or TLS_KEY_FILE) is not a readable file"
            fi
        done
        tls_pair_check "${cert}" "${key}"
        hash="$(sha256sum <"${cert}" | cut -c1-12)"
        TLS_CERT_SECRET="${STACK_NAME}_tls_cert_${hash}"
        TLS_KEY_SECRET="${STACK_NAME}_tls_key_${hash}"
        secret_exists "${TLS_CERT_SECRET}" || secret_create_from_file "${TLS_CERT_SECRET}" "${cert}"
        secret_exists "${TLS_KEY_SECRET}" || secret_create_from_file "${TLS_KEY_SECRET}" "${key}"
        log "HTTPS: certificate ${cert} as ${TLS_CERT_SECRET}"
    fi
    export TLS_CERT_SECRET TLS_KEY_SECRET
    compose_files+=(--compose-file stack.tls.yml)
}

# Blue-green state and colours, read from the swarm so that a re-deploy disturbs no release in progress:
# the live colour takes the images just built (a rolling update of what serves, at the configured replicas);
# the idle colour keeps its image and replicas (0 unless bluegreen.sh deployed it).
export_colours() {
    local live idle app upper service
    live="$(live_colour)"
    idle="$(other_colour "${live}")"
    export LIVE_COLOUR="${live}"
    LIVE_SINCE="$(nginx_label partscat.live-since)"
    CANDIDATE_COLOUR="$(nginx_label partscat.candidate-colour)"
    export LIVE_SINCE CANDIDATE_COLOUR
    for app in "${APPS[@]}"; do
        upper="${app^^}"
        local built_var="${upper}_IMAGE" replicas_var="${upper}_REPLICAS"
        export "${upper}_${live^^}_IMAGE=${!built_var}" "${upper}_${live^^}_REPLICAS=${!replicas_var:-2}"
        service="${STACK_NAME}_${app}-${idle}"
        if docker service inspect "${service}" >/dev/null 2>&1; then
            export "${upper}_${idle^^}_IMAGE=$(service_image "${service}")" "${upper}_${idle^^}_REPLICAS=$(service_replicas "${service}")"
        else
            export "${upper}_${idle^^}_IMAGE=${!built_var}" "${upper}_${idle^^}_REPLICAS=0"
        fi
    done
    log "live colour ${live}; idle colour ${idle} keeps $(printenv "DJANGO_${idle^^}_REPLICAS") + $(printenv "FASTAPI_${idle^^}_REPLICAS") replicas"
}

# A stack from before the socket holder: its nginx publishes the public port(s) itself, and the holder
# (edge-socket, on the host's network) could not bind them. Unpublish them first: this one update closes the
# port until the holder binds it; every later Nginx or holder update keeps it open (nginx/socket_holder.py).
release_published_edge_ports() {
    local ports port
    ports="$(docker service inspect "${NGINX_SERVICE}" --format '{{range .Spec.EndpointSpec.Ports}}{{.TargetPort}} {{end}}' 2>/dev/null || true)"
    [ -n "${ports// /}" ] || return 0
    log "nginx publishes port(s) ${ports}itself (a stack from before the socket holder): unpublishing them for the holder"
    for port in ${ports}; do
        run docker service update --detach --quiet --publish-rm "${port}" "${NGINX_SERVICE}" >/dev/null
    done
}

# The label first: creating the secrets would make a first deploy look like a later one.
ensure_postgres_node_label "${new_database}"
release_published_edge_ports
ensure_secrets
ensure_tls
export_colours

log "deploying stack ${STACK_NAME}: $(grep -v '^#' "${IMAGES_ENV}" | tr '\n' ' ')"
since="$(date +%s)"
# --resolve-image never: images are local (no registry), so never ask a registry for digests.
# --detach=true plus our own wait: --detach=false verifies services one by one, each for its whole update
# monitor window (over 3 minutes for this stack even when nothing changed); wait_stack_converged watches them
# all at once and, like --detach=false, exits non-zero when an update rolls back or does not converge.
# --prune removes services stack.yml no longer names (the single-colour django and fastapi of older versions).
run docker stack deploy "${compose_files[@]}" --resolve-image never --prune --detach=true "${STACK_NAME}" >&2
# `docker stack deploy` decides whether an image changed by its own com.docker.stack.image label, not by what the
# service runs: after update.sh put another image on a service, a deploy of the same build left that image in
# place. Put every service on the image this deploy asked for (a rolling update where one differs).
enforce_images() {
    local pair service image
    for pair in "postgres=${POSTGRES_IMAGE}" "redis=${REDIS_IMAGE}" "redis-cache=${REDIS_IMAGE}" "nginx=${NGINX_IMAGE}" \
        "edge-socket=${EDGE_SOCKET_IMAGE}" "celery-worker=${DJANGO_IMAGE}" "celery-beat=${DJANGO_IMAGE}" \
        "django-blue=${DJANGO_BLUE_IMAGE}" "django-green=${DJANGO_GREEN_IMAGE}" \
        "fastapi-blue=${FASTAPI_BLUE_IMAGE}" "fastapi-green=${FASTAPI_GREEN_IMAGE}"; do
        service="${STACK_NAME}_${pair%%=*}"
        image="${pair#*=}"
        if [ "$(service_image "${service}")" != "${image}" ]; then
            run docker service update --detach --quiet --no-resolve-image --image "${image}" "${service}" >/dev/null
        fi
    done
}
enforce_images
wait_stack_converged "${since}" "${DEPLOY_TIMEOUT_SECONDS:-300}" || {
    stack_task_report
    exit 1
}
