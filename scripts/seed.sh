#!/usr/bin/env bash
# Fill the catalog with seed_parts inside a running django task; with --if-empty, only when no part is visible;
# with --clear, replace every part (the same seed then gives the same catalog, whatever it held before);
# --profile task|realistic picks the data profile (app/catalog/profiles.py; task by default).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if_empty=0
clear=()
parts=10000
seed=1
profile=()  # passed on only when given, so the script still drives an image from before profiles
while [ "$#" -gt 0 ]; do
    case "$1" in
        --if-empty) if_empty=1 ;;
        --clear) clear=(--clear) ;;
        --parts) parts="$2"; shift ;;
        --seed) seed="$2"; shift ;;
        --profile) profile=(--profile "$2"); shift ;;
        *) die "usage: seed.sh [--if-empty] [--clear] [--parts N] [--seed S] [--profile task|realistic]" ;;
    esac
    shift
done

require_docker

# The part count from the public search contract (`count` of an empty query), through Nginx.
visible_parts() {
    python3 - "http://127.0.0.1:${HTTP_PORT}/search/part/" <<'PY'
import json, sys, urllib.request
request = urllib.request.Request(sys.argv[1], data=b"{}", headers={"Content-Type": "application/json"})
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open(request, timeout=30) as response:
    print(json.load(response)["count"])
PY
}

if [ "${if_empty}" = 1 ]; then
    count="$(visible_parts)" || die "cannot query the catalog through Nginx on port ${HTTP_PORT}"
    if [ "${count}" -gt 0 ]; then
        log "catalog already holds ${count} visible parts; not seeding"
        exit 0
    fi
fi

django_service="$(service_name django)"
container="$(docker ps -q --filter "label=com.docker.swarm.service.name=${django_service}" --filter health=healthy | head -n 1)"
[ -n "${container}" ] || die "no healthy ${django_service} task on this node"
started=${SECONDS}
run docker exec "${container}" python manage.py seed_parts "${clear[@]}" "${profile[@]}" --parts "${parts}" --seed "${seed}"
log "seeded ${parts} parts (seed ${seed}${profile[1]:+, profile ${profile[1]}}) in $((SECONDS - started))s"
