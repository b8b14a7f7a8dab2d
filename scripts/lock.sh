#!/usr/bin/env bash
# Compile requirements/*.in into the hashed lock files requirements/*.txt (pip-compile; extra arguments go to each run).
set -euo pipefail
cd "$(dirname "$0")/.."

# The locks are for the images' platform: pip-compile resolves markers and wheels with the Python it runs on.
.venv/bin/python - <<'CHECK' || { echo "lock: run on Linux x86_64 with CPython 3.11 (the images' platform)" >&2; exit 1; }
import platform, sys
sys.exit(not (sys.implementation.name == "cpython" and sys.version_info[:2] == (3, 11)
              and platform.system() == "Linux" and platform.machine() == "x86_64"))
CHECK
[ -x .venv/bin/pip-compile ] || { echo "lock: no .venv/bin/pip-compile; run scripts/venv.sh first" >&2; exit 1; }

# Only the machine's one package index (pip's index-url: its configuration's, else pip's default), never its
# extra indexes or find-links: a local folder would put hashes of local files, or none, in the locks.
# The header of each lock names this script.
index=${PIP_INDEX_URL:-$(.venv/bin/pip config get global.index-url 2>/dev/null || true)}
index_args=()
[ -z "${index}" ] || index_args=(--index-url "${index}")
export PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="scripts/lock.sh"
unset PIP_FIND_LINKS PIP_EXTRA_INDEX_URL PIP_NO_INDEX PIP_INDEX_URL
# Order matters: dev.in is constrained by the images' locks, bench.in by dev's.
for name in build django fastapi dev bench; do
  echo "lock: requirements/${name}.txt"
  .venv/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
    "${index_args[@]}" --no-emit-index-url --no-emit-find-links \
    --output-file "requirements/${name}.txt" "$@" "requirements/${name}.in"
done
