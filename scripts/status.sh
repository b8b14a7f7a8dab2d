#!/usr/bin/env bash
# Show the stack: services and replicas, running tasks, update states, and which tasks Nginx routes to.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

require_docker
docker stack ls --format '{{.Name}}' | grep -qx "${STACK_NAME}" || die "stack ${STACK_NAME} is not deployed"

echo "== services"
docker stack services "${STACK_NAME}" --format 'table {{.Name}}\t{{.Replicas}}\t{{.Image}}\t{{.Ports}}'
echo
echo "== update state"
for svc in $(docker stack services "${STACK_NAME}" --format '{{.Name}}'); do
    printf '%-28s %s\n' "${svc}" "$(docker service inspect "${svc}" --format '{{if .UpdateStatus}}{{.UpdateStatus.State}} {{.UpdateStatus.Message}}{{else}}-{{end}}')"
done
echo
echo "== tasks meant to run"
docker stack ps "${STACK_NAME}" --filter desired-state=running --format 'table {{.Name}}\t{{.CurrentState}}\t{{.Node}}\t{{.Error}}'
echo
echo "== nginx peers (what the Lua balancer routes to, and the watcher's probes)"
nginx_container="$(docker ps -q --filter "label=com.docker.swarm.service.name=${STACK_NAME}_nginx" | head -n 1)"
if [ -n "${nginx_container}" ]; then
    docker exec "${nginx_container}" python3 /opt/nginx/upstream_watcher.py state
    docker exec "${nginx_container}" cat /tmp/nginx/upstreams.json
    echo
else
    echo "no nginx task on this node"
fi
echo "== entry: http://127.0.0.1:${HTTP_PORT}/"
