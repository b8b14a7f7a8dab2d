#!/usr/bin/env bash
# Price totals summed over the parts (rows) against the bands plus the two edge ranges (bands), on the database
# setup.sql makes: pgbench, one client, 6 s a point, the two ways alternating, three rounds; prints the medians.
# Usage: ab.sh PGBENCH_ARGS...   e.g. ab.sh -U postgres   (pgbench and awk only: the database host may have no Python)
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT

# Each execution draws a range: a low bound from 0 to 99 000, a width from 1 to 50 000; the bands wholly inside
# it (first to last) and its two edges (lo to e1, e2 to hi), as service_common/totals.py price_split computes.
header='\set lo random(0, 99000)
\set w random(1, 50000)
\set hi :lo + :w
\set first (:lo + 999) / 1000
\set last (:hi + 1) / 1000 - 1
\set e1 :first * 1000 - 1
\set e2 (:last + 1) * 1000'

# shape: the filters as the rows step gets them, on part, then on part_price_bands.
declare -A on_parts=(
  [s1]="mark_id = ANY('{2}') AND model_id = ANY('{2}') AND name = ANY('{Радиатор,Фара левая}')"
  [s2]="upper(json_data->>'color') = 'ЧЕРНЫЙ'"
  [s3]="true"
  [s4]="mark_id = ANY('{2}') AND model_id = ANY('{2}')"
)
declare -A on_bands=([s1]="${on_parts[s1]}" [s2]="color_key = 'ЧЕРНЫЙ'" [s3]="true" [s4]="${on_parts[s4]}")

for shape in s1 s2 s3 s4; do
  where="is_visible AND ${on_parts[$shape]}"
  printf '%s\nSELECT count(*), sum(price) FROM part WHERE %s AND price BETWEEN :lo AND :hi;\n' \
    "${header}" "${where}" >"${work}/rows_${shape}.sql"
  printf '%s\nSELECT b.c + e.c, b.s + e.s FROM (SELECT coalesce(sum(parts), 0) c, coalesce(sum(price_sum), 0) s FROM part_price_bands WHERE %s AND band BETWEEN :first AND :last) b, (SELECT count(*) c, coalesce(sum(price), 0) s FROM (SELECT price FROM part WHERE %s AND price BETWEEN :lo AND :e1 UNION ALL SELECT price FROM part WHERE %s AND price BETWEEN :e2 AND :hi) u) e;\n' \
    "${header}" "${on_bands[$shape]}" "${where}" "${where}" >"${work}/bands_${shape}.sql"
done

raw="${work}/raw"
for round in 1 2 3; do
  for shape in s1 s2 s3 s4; do
    for way in rows bands; do
      latency=$(pgbench -n "$@" -f "${work}/${way}_${shape}.sql" -T 6 -c 1 exp 2>&1 | awk '/latency average/ {print $4}')
      echo "${round} ${shape} ${way} ${latency}" | tee -a "${raw}"
    done
  done
done

# Medians of the three rounds.
echo "| shape | rows, ms (3 runs) | bands, ms (3 runs) | rows / bands |"
echo "| --- | --- | --- | --- |"
for shape in s1 s2 s3 s4; do
  rows=$(awk -v s="${shape}" '$2 == s && $3 == "rows" {print $4}' "${raw}" | sort -n | tr '\n' ' ')
  bands=$(awk -v s="${shape}" '$2 == s && $3 == "bands" {print $4}' "${raw}" | sort -n | tr '\n' ' ')
  awk -v s="${shape}" -v r="${rows}" -v b="${bands}" 'BEGIN {
    split(r, x, " "); split(b, y, " ");
    printf "| %s | %.1f (%s) | %.1f (%s) | %.2f |\n", s, x[2], r, y[2], b, x[2] / y[2] }'
done
