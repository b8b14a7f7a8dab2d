#!/usr/bin/env bash
# Create .venv and install requirements/dev.txt (and any extra requirement files given, such as
# requirements/bench.txt) into it, each again only when it or a file it includes changes.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "venv: creating .venv with $($python --version)"
  $python -m venv .venv
fi

# A requirements file and the files it includes with -r, in order: what its stamp hashes.
requirement_files() {
  local dir
  dir=$(dirname "$1")
  echo "$1"
  sed -n 's/^-r[[:space:]]*//p' "$1" | while read -r included; do requirement_files "$dir/$included"; done
}

for requirements in requirements/dev.txt "$@"; do
  [ -f "$requirements" ] || { echo "venv: no such file: $requirements" >&2; exit 1; }
  name=$(basename "$requirements" .txt)
  # dev.txt keeps the stamp name it always had, so existing venvs are not reinstalled.
  if [ "$name" = dev ]; then stamp=.venv/.requirements.sha256; else stamp=.venv/.requirements-$name.sha256; fi
  mapfile -t files < <(requirement_files "$requirements")
  wanted=$(cat "${files[@]}" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "venv: installing $requirements"
    .venv/bin/pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$wanted" > "$stamp"
  else
    echo "venv: $requirements up to date"
  fi
done
