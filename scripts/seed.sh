#!/usr/bin/env bash
# Fill the catalog with seed_parts inside a healthy task of the live django colour; with --if-empty, only when
# no part is visible; with --clear, replace every part (the same seed then gives the same catalog, whatever it
# held before); --profile task|realistic picks the data profile (app/catalog/profiles.py; task by default).
# Usage: seed.sh [--if-empty] [--clear] [--parts N] [--seed S] [--profile task|realistic]
# The logic is the control plane's (scripts/control_plane/commands/seed.py), which prints every docker command it
# runs; add --dry-run (change nothing) or --json FILE (a verdict).
set -euo pipefail
exec python3 "$(dirname "$0")/stackctl.py" seed "$@"
