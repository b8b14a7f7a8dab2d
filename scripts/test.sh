#!/usr/bin/env bash
# Run every test: install what is missing, then the fast suite and the lint checks.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/system-packages.sh
bash scripts/venv.sh
bash scripts/lint.sh
echo "tests: pytest $*"
.venv/bin/python -m pytest "$@"
