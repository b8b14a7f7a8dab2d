#!/usr/bin/env bash
# Roll one service back to its previous spec (image included) and wait until that finished; non-zero on failure.
# The logic is the control plane's (scripts/control_plane/, `python3 scripts/stackctl.py --help`), which prints
# every docker command it runs; add --dry-run (change nothing) or --json FILE (a verdict): rollback.sh --dry-run ...
set -euo pipefail
exec python3 "$(dirname "$0")/stackctl.py" rollback "$@"
