#!/usr/bin/env bash
# Make Docker usable here: install docker.io if missing, start dockerd if not running, init a one-node Swarm.
set -euo pipefail
# Plain bash: it installs what everything else needs, and runs first.
log() { printf '[docker-engine.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
run() { log "+ $*"; "$@"; }

if ! command -v dockerd >/dev/null 2>&1; then
    log "installing docker.io"
    run apt-get update
    DEBIAN_FRONTEND=noninteractive run apt-get install -y docker.io
fi

if docker info >/dev/null 2>&1; then
    log "dockerd already answers"
elif [ -n "${DOCKER_HOST:-}" ]; then
    # A remote or non-default engine is not ours to start.
    die "DOCKER_HOST=${DOCKER_HOST} does not answer"
else
    # No systemd on these machines: start the daemon ourselves, detached from this shell.
    log "starting dockerd (log: /var/log/dockerd.log)"
    nohup dockerd >>/var/log/dockerd.log 2>&1 </dev/null &
    for _ in $(seq 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
    docker info >/dev/null 2>&1 || die "dockerd did not answer within 60s; see /var/log/dockerd.log"
    log "dockerd is up"
fi

state="$(docker info --format '{{.Swarm.LocalNodeState}}')"
if [ "${state}" = "active" ]; then
    log "already in a swarm"
else
    run docker swarm init --advertise-addr 127.0.0.1 >/dev/null
    log "swarm initialised"
fi
[ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = "true" ] || die "this node is not a swarm manager"
