#!/usr/bin/env bash
# Run every test: install what is missing, lint, the fast suite, then the Swarm suite ("fast" or "swarm" for one).
set -euo pipefail
cd "$(dirname "$0")/.."

which=${1:-all}
case "$which" in all | fast | swarm) ;; *) echo "usage: scripts/test.sh [all|fast|swarm]" >&2; exit 2 ;; esac

bash scripts/system-packages.sh
# The bench's requirements too: the fast suite tests its plots (tests/scripts/test_bench.py).
bash scripts/venv.sh requirements/bench.txt
if [ "$which" != swarm ]; then
  bash scripts/lint.sh
  echo "tests: fast suite (real PostgreSQL, Redis and both services on loopback)"
  .venv/bin/python -m pytest -m "not swarm" --ignore=tests/swarm
fi
if [ "$which" != fast ]; then
  # Installs and starts Docker Engine and Swarm itself (scripts/up.sh); fails, never skips, without them.
  echo "tests: Swarm suite (the real stack on a single-node Swarm)"
  .venv/bin/python -m pytest tests/swarm
fi
