#!/usr/bin/env bash
# Rewrite the code in the project's format and apply ruff's safe fixes.
set -euo pipefail
cd "$(dirname "$0")/.."

.venv/bin/ruff check --fix .
.venv/bin/ruff format .
