#!/usr/bin/env bash
# Lint, format check and type check (ruff and mypy, configured in pyproject.toml), shellcheck and hadolint.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/ruff ] || [ ! -x .venv/bin/hadolint ]; then bash scripts/venv.sh; fi
command -v shellcheck >/dev/null || bash scripts/system-packages.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# The settings module needs a DATABASE_URL to import; mypy never connects. nginx/socket_holder.py is checked
# through the watcher's import (mypy_path has nginx/).
DATABASE_URL=${DATABASE_URL:-postgres://mypy@localhost/mypy} .venv/bin/mypy app/catalog app/config app/jobs app/web fastapi_search search_contract service_common tests \
  healthcheck nginx/upstream_watcher.py scripts/explain_plans.py scripts/apt_mirror.py scripts/bench \
  scripts/control_plane scripts/stackctl.py
# Every shell script and Dockerfile git knows of, new ones too; options in .shellcheckrc and .hadolint.yaml.
mapfile -t shell_scripts < <(git ls-files --cached --others --exclude-standard '*.sh' .ci/run)
shellcheck --external-sources "${shell_scripts[@]}"
mapfile -t dockerfiles < <(git ls-files --cached --others --exclude-standard '*Dockerfile')
.venv/bin/hadolint --no-color "${dockerfiles[@]}"
