#!/usr/bin/env bash
# Rolling update of one service to another image (start-first, health-gated); non-zero if it failed or rolled back.
# The logic is the control plane's (scripts/control_plane/, `python3 scripts/stackctl.py --help`), which prints
# every docker command it runs; add --dry-run (change nothing) or --json FILE (a verdict): update.sh --dry-run ...
set -euo pipefail
exec python3 "$(dirname "$0")/stackctl.py" update "$@"
