#!/usr/bin/env bash
# Apply a changed nginx.conf to every running Nginx task on this node in place (nginx -t, drain, reload): no task is replaced.
#
# Usage: edge-config.sh [NGINX_CONF]   (default: nginx/nginx.conf of this checkout)
# Each task's watcher tests the file, has the running workers close every client connection after its next
# response for DRAIN_SECONDS, then reloads; a file that fails `nginx -t` changes nothing and exits non-zero.
# A task started later (restart, rescheduling) starts from its image's nginx.conf: commit the change and
# ship it in the next Nginx image (scripts/build-images.sh, then update.sh nginx). On several edge nodes,
# run this on each (DOCKER_HOST=ssh://node), one node at a time.
# The logic is the control plane's (scripts/control_plane/, `python3 scripts/stackctl.py --help`), which prints
# every docker command it runs; add --dry-run (change nothing) or --json FILE (a verdict): edge-config.sh --dry-run ...
set -euo pipefail
exec python3 "$(dirname "$0")/stackctl.py" edge-config "$@"
