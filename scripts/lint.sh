#!/usr/bin/env bash
# Lint, format check and type check (ruff and mypy, configured in pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x .venv/bin/ruff ] || bash scripts/venv.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# The settings module needs a DATABASE_URL to import; mypy never connects.
DATABASE_URL=${DATABASE_URL:-postgres://mypy@localhost/mypy} .venv/bin/mypy app/catalog app/config fastapi_search search_contract tests \
  healthcheck nginx/upstream_watcher.py scripts/explain_plans.py scripts/images/migrate_locked.py scripts/bench
