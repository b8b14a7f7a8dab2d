#!/usr/bin/env bash
# `make cluster`: three Docker-in-Docker nodes in one swarm beside an HTTPS registry, on this one machine.
#   cluster.sh up | down [--volumes] | status | env | edges      (eval "$(scripts/cluster.sh env)" to drive it)
# The logic is the control plane's (scripts/control_plane/commands/cluster.py, decisions/cluster.py), which prints
# every docker command it runs; add --dry-run (change nothing) or --json FILE (a verdict): cluster.sh --dry-run up
set -euo pipefail
exec python3 "$(dirname "$0")/stackctl.py" cluster "$@"
