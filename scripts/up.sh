#!/usr/bin/env bash
# `make up`: Docker and Swarm, images, secrets, deploy, wait until healthy, seed an empty catalog, print the URLs.
# Arguments go to deploy.sh (--new-database).
# The logic is the control plane's (scripts/control_plane/, `python3 scripts/stackctl.py --help`), which prints
# every docker command it runs; add --dry-run (change nothing) or --json FILE (a verdict): up.sh --dry-run ...
set -euo pipefail
exec python3 "$(dirname "$0")/stackctl.py" up "$@"
