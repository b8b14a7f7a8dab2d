#!/usr/bin/env bash
# Create .venv from the lock requirements/dev.txt (and any extra lock given, such as requirements/bench.txt), then
# install this project into it (editable); each step again only when its input changes.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "venv: creating .venv with $($python --version)"
  $python -m venv .venv
fi

# Locks, hash-checked: every file pip downloads must match a hash in the lock (scripts/lock.sh writes them).
for requirements in requirements/dev.txt "$@"; do
  [ -f "$requirements" ] || { echo "venv: no such file: $requirements" >&2; exit 1; }
  stamp=.venv/.requirements-$(basename "$requirements" .txt).sha256
  wanted=$(sha256sum <"$requirements" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "venv: installing $requirements"
    .venv/bin/pip install --quiet --disable-pip-version-check --require-hashes -r "$requirements"
    echo "$wanted" > "$stamp"
  else
    echo "venv: $requirements up to date"
  fi
done

# The project itself (config, catalog, jobs, web, search_contract, service_common, fastapi_search), editable, so no sys.path patch
# or PYTHONPATH is needed anywhere. It has no hash to check: --no-deps keeps it from installing anything the
# locks above do not name, and --no-build-isolation builds it with the locked setuptools of dev.txt.
# The stamp holds the checkout's path too: an editable install points at its folder, so a moved checkout (or a
# second one sharing the venv) must install it again.
stamp=.venv/.project.sha256
wanted=$( (cat pyproject.toml; pwd -P) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "venv: installing the project (pip install --no-deps -e .)"
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
  echo "$wanted" > "$stamp"
else
  echo "venv: project up to date"
fi
