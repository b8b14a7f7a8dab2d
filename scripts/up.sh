#!/usr/bin/env bash
# `make up`: Docker and Swarm, images, secrets, deploy, wait until healthy, seed an empty catalog, print the URLs.
# Arguments go to deploy.sh (--new-database).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

started=${SECONDS}
"${REPO_ROOT}/scripts/docker-engine.sh"
"${REPO_ROOT}/scripts/build-images.sh"
"${REPO_ROOT}/scripts/deploy.sh" "$@"
"${REPO_ROOT}/scripts/seed.sh" --if-empty --parts "${SEED_PARTS:-10000}" --seed "${SEED_NUMBER:-1}"

base="http://127.0.0.1:${HTTP_PORT}"
log "stack ${STACK_NAME} is up in $((SECONDS - started))s"
cat <<URLS
Index    ${base}/            (JSON: every route below, with links)
Django   ${base}/search/part/ (POST; lists: ${base}/mark/, ${base}/model/)
Admin    ${base}/admin/      (first account: scripts/admin-user.sh)
FastAPI  ${base}/fastapi/    (search: POST ${base}/fastapi/search/part/, docs: ${base}/fastapi/docs)
Jobs     ${base}/api/jobs/   (docs: ${base}/api/docs/; a token: README, "Background jobs")
Try:     curl -s -X POST ${base}/fastapi/search/part/ -H 'Content-Type: application/json' -d '{"part_name": "бамп", "page": 1}'
Status:  scripts/status.sh        Stop: scripts/down.sh [--volumes]
URLS
