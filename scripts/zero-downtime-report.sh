#!/usr/bin/env bash
# Run the Swarm suite's zero-downtime scenarios on the stack and write bench-results/zero-downtime.md from what their clients saw,
# with each scenario's timeline in bench-results/zero-downtime/.
#
# The tables come from the same tests `make test` runs (tests/swarm/test_zero_downtime.py, test_bluegreen.py, test_canary.py and test_abusive_client.py, then
# tests/cluster/ for the cluster's section); a scenario that fails still lands in the report, and the script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

report="${ZERO_DOWNTIME_REPORT:-bench-results/zero-downtime.md}"
bash scripts/system-packages.sh
# The bench's requirements too: matplotlib draws each scenario's timeline (tests/swarm/timeline.py).
bash scripts/venv.sh requirements/bench.txt
echo "zero-downtime report: running the scenarios (about 20 minutes, then the cluster's), writing ${report}"
status=0
ZERO_DOWNTIME_REPORT="$(realpath -m "${report}")" .venv/bin/python -m pytest tests/swarm/test_zero_downtime.py tests/swarm/test_bluegreen.py tests/swarm/test_canary.py tests/swarm/test_abusive_client.py || status=$?
# The cluster's section, from the cluster suite (scripts/cluster.sh; the single-node stack down to free the cores).
section="$(mktemp)"
trap 'rm -f "${section}"' EXIT
bash scripts/down.sh
# ZERO_DOWNTIME_REPORT here only says where the section's timelines go: beside the report, as the Swarm suite's.
ZERO_DOWNTIME_REPORT="$(realpath -m "${report}")" CLUSTER_REPORT="${section}" .venv/bin/python -m pytest tests/cluster || status=$?
if [ -s "${section}" ]; then
    printf '\n' >>"${report}"
    cat "${section}" >>"${report}"
fi
[ -f "${report}" ] && echo "zero-downtime report: written to ${report}"
exit "${status}"
