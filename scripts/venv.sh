#!/usr/bin/env bash
# Create .venv and install requirements/dev.txt into it, again only when the requirements change.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "venv: creating .venv with $($python --version)"
  $python -m venv .venv
fi
stamp=.venv/.requirements.sha256
wanted=$(cat requirements/*.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "venv: installing requirements/dev.txt"
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements/dev.txt
  echo "$wanted" > "$stamp"
else
  echo "venv: up to date"
fi
