#!/usr/bin/env bash
# Deploy (or re-deploy) the stack: ensure the Postgres node label and secrets, `docker stack deploy`, wait until healthy.
# --new-database: no node carries the partscat.postgres label and this is not a first deploy; label this node
# anyway, and let PostgreSQL start here with whatever this node's volume holds (nothing: an empty database).
# The logic is the control plane's (scripts/control_plane/, `python3 scripts/stackctl.py --help`), which prints
# every docker command it runs; add --dry-run (change nothing) or --json FILE (a verdict): deploy.sh --dry-run ...
set -euo pipefail
exec python3 "$(dirname "$0")/stackctl.py" deploy "$@"
