#!/usr/bin/env bash
# Show the stack: services and replicas, running tasks, update states, and which tasks Nginx routes to.
# The logic is the control plane's (scripts/control_plane/, `python3 scripts/stackctl.py --help`), which prints
# every docker command it runs; add --dry-run (change nothing) or --json FILE (a verdict): status.sh --dry-run ...
set -euo pipefail
exec python3 "$(dirname "$0")/stackctl.py" status "$@"
