#!/usr/bin/env bash
# Lint, format check and type check (ruff and mypy, configured in pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x .venv/bin/ruff ] || bash scripts/venv.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy app/catalog app/config fastapi_search search_contract tests
