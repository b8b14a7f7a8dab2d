#!/usr/bin/env bash
# Price totals summed over the parts (pgbench/rows_*) against the bands (pgbench/bands_*), on the database
# setup.sql makes: pgbench, one client, 6 s a point, the two ways alternating, three rounds; prints the medians.
# Usage: ab.sh PGBENCH_ARGS...   e.g. ab.sh -h /var/run/postgresql -U postgres
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
raw=$(mktemp)
for round in 1 2 3; do
  for shape in s1 s2 s3 s4; do
    for way in rows bands; do
      latency=$(pgbench -n "$@" -d exp -f "${here}/pgbench/${way}_${shape}.sql" -T 6 -c 1 2>&1 | awk '/latency average/ {print $4}')
      echo "${round} ${shape} ${way} ${latency}" | tee -a "${raw}"
    done
  done
done
# Medians of the three rounds (awk: the database host may have no Python).
echo "| shape | rows, ms (3 runs) | bands, ms (3 runs) | rows / bands |"
echo "| --- | --- | --- | --- |"
for shape in s1 s2 s3 s4; do
  rows=$(awk -v s="${shape}" '$2 == s && $3 == "rows" {print $4}' "${raw}" | sort -n | tr '\n' ' ')
  bands=$(awk -v s="${shape}" '$2 == s && $3 == "bands" {print $4}' "${raw}" | sort -n | tr '\n' ' ')
  awk -v s="${shape}" -v r="${rows}" -v b="${bands}" 'BEGIN {
    split(r, x, " "); split(b, y, " ");
    printf "| %s | %.1f (%s) | %.1f (%s) | %.2f |\n", s, x[2], r, y[2], b, x[2] / y[2] }'
done
rm -f "${raw}"
