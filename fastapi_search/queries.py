"""Every SQL statement of the service: named constants with ``$n`` parameters only.

A search is two steps (search_contract/totals.py): ``PART_GROUPS`` on the
``part_totals`` table gives the totals and the ids and names of the matching
groups; ``PART_SEARCH_PAGE`` reads ``part`` with those as plain values, and so
does ``PART_PRICE_TOTALS`` for a price filter (with ``part_price_bands``) or
``PART_SEARCH_TOTALS`` for a stock-count filter.

One statement serves every combination of filters: a filter whose parameter is
NULL is switched off by ``$n IS NULL OR ...``. The pool sets
``plan_cache_mode = force_custom_plan`` so PostgreSQL plans each execution with
the actual values, folds the switched-off filters away and can use the partial
indexes of ``part`` (catalog/models.py); a generic plan could not.

The column expressions are the ones Django's ORM emits for the same filters
(app/catalog/selectors.py), so both services hit the same indexes. One thing
differs: Django writes ``mark_id IN (SELECT ...)``, but behind ``$n IS NULL OR``
PostgreSQL cannot turn that into a join (sublinks are pulled up before the NULL
test is folded away) and leaves a per-row SubPlan. So here the ids are fetched
once, ``= ANY(ARRAY(SELECT ...))``.

Parameters of ``PART_GROUPS``: $1 mark name, $2 producer country, $3 mark ids,
$4 model name, $5 model ids, $6 part name LIKE pattern, $7 colour, $8
is_new_part (jsonb); $9 and $10 whether the rows step will use the ids and the
names (each DISTINCT array is a sort: skipped, it costs nothing).

Parameters of ``PART_MATCH``: $1 mark ids, $2 model ids (both resolved, or
NULL), $3 names (resolved, or NULL), $4 part name LIKE pattern (when the names
are not sent), $5 colour, $6 is_new_part (jsonb), $7 count (jsonb), $8 lowest
price, $9 highest price.
"""

from __future__ import annotations

from search_contract import PAGE_SIZE

# sum() of bigint is numeric: cast back, the totals fit a bigint.
PART_GROUPS = """
SELECT coalesce(sum(t.parts), 0)::bigint AS count,
       coalesce(sum(t.price_sum), 0)::bigint AS summ,
       coalesce(array_agg(DISTINCT t.mark_id) FILTER (WHERE $9::boolean), '{}') AS marks,
       coalesce(array_agg(DISTINCT t.model_id) FILTER (WHERE $9::boolean), '{}') AS models,
       coalesce(array_agg(DISTINCT t.name::text) FILTER (WHERE $10::boolean), '{}') AS names
FROM part_totals t
WHERE ($1::text IS NULL OR t.mark_id = ANY(ARRAY(
        SELECT m1.id FROM mark m1 WHERE upper(m1.name::text) = upper($1::text))))
  AND ($2::text IS NULL OR t.mark_id = ANY(ARRAY(
        SELECT m2.id FROM mark m2 WHERE upper(m2.producer_country_name::text) = upper($2::text))))
  AND ($3::bigint[] IS NULL OR t.mark_id = ANY($3::bigint[]))
  AND ($4::text IS NULL OR t.model_id = ANY(ARRAY(
        SELECT d.id FROM model d WHERE upper(d.name::text) = upper($4::text))))
  AND ($5::bigint[] IS NULL OR t.model_id = ANY($5::bigint[]))
  AND ($6::text IS NULL OR upper(t.name::text) LIKE upper($6::text))
  AND ($7::text IS NULL OR t.color_key = upper($7::text))
  AND ($8::jsonb IS NULL OR t.is_new_part = $8::jsonb)
"""


def _in_resolved_groups(alias: str) -> str:
    """$1-$4 on a table with the group columns (part, part_price_bands): the resolved mark and model ids and
    names, or the name pattern when the names are not sent (as Django's selectors._in_resolved_groups)."""
    return f"""($1::bigint[] IS NULL OR {alias}.mark_id = ANY($1::bigint[]))
    AND ($2::bigint[] IS NULL OR {alias}.model_id = ANY($2::bigint[]))
    AND ($3::text[] IS NULL OR {alias}.name::text = ANY($3::text[]))
    AND ($4::text IS NULL OR upper({alias}.name::text) LIKE upper($4::text))"""


PART_MATCH = f"""
    p.is_visible
    AND {_in_resolved_groups("p")}
    AND ($5::text IS NULL OR upper((p.json_data ->> 'color')::text) = upper($5::text))
    AND ($6::jsonb IS NULL OR (p.json_data -> 'is_new_part') = $6::jsonb)
    AND ($7::jsonb IS NULL OR (p.json_data -> 'count') = $7::jsonb)
    AND ($8::integer IS NULL OR p.price >= $8::integer)
    AND ($9::integer IS NULL OR p.price <= $9::integer)
"""

# count and summ of the matches summed over the parts: a stock-count filter, or a price filter that few parts
# pass the other filters of (search_contract/totals.py, PRICE_BANDS_FROM).
PART_SEARCH_TOTALS = f"""
SELECT count(*) AS count, coalesce(sum(p.price), 0) AS summ
FROM part p
WHERE {PART_MATCH}
"""  # noqa: S608 (composed of constants, never of input)

# count and summ of a price filter (search_contract/totals.py, "Price bands"): the bands wholly inside the
# range ($10 to $11) of the matching groups, plus the parts of its two partial bands ($12-$13 and $14-$15),
# each an index-only range (UNION ALL: an OR of the two would be a bitmap scan, which visits the table).
# $1-$7 as in PART_MATCH; $8 and $9 (PART_MATCH's price bounds) are NULL, the edges bound the price.
PART_PRICE_TOTALS = f"""
SELECT b.count + e.count AS count, b.summ + e.summ AS summ
FROM (SELECT coalesce(sum(t.parts), 0)::bigint AS count, coalesce(sum(t.price_sum), 0)::bigint AS summ
      FROM part_price_bands t
      WHERE {_in_resolved_groups("t")}
        AND ($5::text IS NULL OR t.color_key = upper($5::text))
        AND ($6::jsonb IS NULL OR t.is_new_part = $6::jsonb)
        AND t.band BETWEEN $10::integer AND $11::integer) b,
     (SELECT count(*) AS count, coalesce(sum(u.price), 0)::bigint AS summ
      FROM (SELECT p.price FROM part p
            WHERE {PART_MATCH} AND p.price BETWEEN $12::integer AND $13::integer
            UNION ALL
            SELECT p.price FROM part p
            WHERE {PART_MATCH} AND p.price BETWEEN $14::integer AND $15::integer) u) e
"""  # noqa: S608 (composed of constants, never of input)

# One page of matches in id order; $10 is the offset.
PART_SEARCH_PAGE = f"""
SELECT p.id, p.name, p.json_data, p.price,
       m.id AS mark_id, m.name AS mark_name, m.producer_country_name,
       d.id AS model_id, d.name AS model_name
FROM part p
JOIN mark m ON m.id = p.mark_id
JOIN model d ON d.id = p.model_id
WHERE {PART_MATCH}
ORDER BY p.id
LIMIT {PAGE_SIZE} OFFSET $10::integer
"""  # noqa: S608 (composed of constants, never of input)

# Whether the migrations this release's statements need have run (main.py waits for it at start).
SCHEMA_READY = "SELECT to_regclass('part_totals') IS NOT NULL AND to_regclass('catalog_version') IS NOT NULL"
