#!/usr/bin/env bash
# Run every test: install what is missing, lint, the fast suite, the Swarm suite, then the cluster suite
# ("fast", "swarm" or "cluster" for one).
set -euo pipefail
cd "$(dirname "$0")/.."

which=${1:-all}
case "$which" in all | fast | swarm | cluster) ;; *) echo "usage: scripts/test.sh [all|fast|swarm|cluster]" >&2; exit 2 ;; esac

bash scripts/system-packages.sh
# The bench's requirements too: the fast suite tests its plots (tests/scripts/test_bench.py).
bash scripts/venv.sh requirements/bench.txt
# Each suite runs even when one before it failed, so one run tells everything; the exit is non-zero if any failed.
failed=()
if [ "$which" = all ] || [ "$which" = fast ]; then
  bash scripts/lint.sh || failed+=(lint)
  echo "tests: fast suite (real PostgreSQL, Redis and both services on loopback)"
  .venv/bin/python -m pytest --durations=10 -m "not swarm and not cluster" --ignore=tests/swarm --ignore=tests/cluster \
    || failed+=(fast)
fi
if [ "$which" = all ] || [ "$which" = swarm ]; then
  # Installs and starts Docker Engine and Swarm itself (scripts/up.sh); fails, never skips, without them.
  echo "tests: Swarm suite (the real stack on a single-node Swarm)"
  # The slowest tests are listed at the end: the suites share CI's time limit (keep `make test` under 50 min).
  .venv/bin/python -m pytest --durations=15 tests/swarm || failed+=(swarm)
fi
if [ "$which" = all ] || [ "$which" = cluster ]; then
  # Starts Docker Engine, three Docker-in-Docker nodes and a TLS registry itself (scripts/cluster.sh up).
  bash scripts/docker-engine.sh || failed+=(docker-engine)
  if [ "$which" = all ]; then
    # The single-node stack's CPU goes to the three nodes (its data is kept: `make up` brings it back).
    bash scripts/down.sh || failed+=(down)
  fi
  echo "tests: cluster suite (three Docker-in-Docker nodes, images from a TLS registry)"
  .venv/bin/python -m pytest --durations=10 tests/cluster || failed+=(cluster)
fi
if [ "${#failed[@]}" -gt 0 ]; then
  echo "tests: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "tests: all passed"
