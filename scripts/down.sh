#!/usr/bin/env bash
# Remove the stack and wait until its containers and networks are gone; --volumes also deletes data and secrets.
# The logic is the control plane's (scripts/control_plane/commands/down.py), which prints every docker command
# it runs; add --dry-run (change nothing) or --json FILE (a verdict): down.sh --dry-run ...
set -euo pipefail
exec python3 "$(dirname "$0")/stackctl.py" down "$@"
