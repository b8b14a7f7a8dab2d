"""Every SQL statement of the service, composed from constants: values only ever travel as ``$n`` parameters.

A search is two steps (service_common/totals.py): :func:`part_groups` on the
``part_totals`` table gives the totals and the ids and names of the matching
groups; :func:`part_search_page` reads ``part`` with those as plain values, and
so does :func:`part_price_totals` for a price filter (with ``part_price_bands``)
or :func:`part_search_totals` for a stock-count filter.

Each statement is shaped by the filters a search has: only the conditions of
the filters given, so its text depends on which filters are there and never on
their values. asyncpg prepares each text once per connection (its statement
cache, sized in db.py for every shape), and the pool sets ``plan_cache_mode =
force_custom_plan``: every execution is planned with its values. A generic plan
(PostgreSQL's choice after five executions under ``auto``) is made without them,
and on the realistic catalog at a million parts it walked the primary key for a
deep page of a rare name: 5 of 1 200 searches ran into the 5 s statement timeout,
none with custom plans (bench-results/plan-cache). With a
compact catalog of 10 000 parts the generic plans saved nothing measurable.
Before, one statement served every combination, each filter switched off by
``$n IS NULL OR ...``; the shaped statements are what the ORM sends too, and
simpler to plan.

The column expressions are the ones Django's ORM emits for the same filters
(app/catalog/selectors.py), so both services hit the same indexes. Mark, model
and country names are resolved to ids inside the statement with
``= ANY(ARRAY(SELECT ...))``, run once before the scan, or joined with ``IN
(SELECT ...)`` when a name substring comes with them (service_common/totals.py,
"Part names").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from search_contract import PAGE_SIZE, PartFilters
from service_common.totals import (
    PriceSplit,
    bands_table,
    groups_joined,
    name_choices,
    narrows_marks_and_models,
    totals_table,
)


@dataclass(frozen=True, slots=True)
class Statement:
    """A statement's text and its arguments, ``$1`` first."""

    sql: str
    arguments: tuple[Any, ...]


@dataclass(slots=True)
class _Parameters:
    """The arguments of a statement being composed: each value added is written ``$n::type``, n in order."""

    values: list[Any] = field(default_factory=list)

    def __call__(self, value: Any, sql_type: str) -> str:
        self.values.append(value)
        return f"${len(self.values)}::{sql_type}"

    def statement(self, sql: str) -> Statement:
        return Statement(sql, tuple(self.values))


def like_pattern(text: str) -> str:
    """A LIKE pattern for "contains ``text``", with LIKE's own wildcards escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(conditions: Sequence[str]) -> str:
    return " AND ".join(conditions) if conditions else "true"


def _group_colour_and_newness(arg: _Parameters, filters: PartFilters) -> list[str]:
    """The colour and is_new_part filters on a table of totals (``t``: part_totals, part_price_bands,
    part_colour_bands), which hold the colour upper-cased."""
    where = []
    if filters.color is not None:
        where.append(f"t.color_key = upper({arg(filters.color, 'text')})")
    if filters.is_new_part is not None:
        where.append(f"t.is_new_part = {arg(filters.is_new_part, 'jsonb')}")
    return where


def part_groups(filters: PartFilters) -> Statement:
    """The matching groups' totals, and the arrays the rows step will use (each DISTINCT array is a sort:
    only those): ``marks`` and ``models`` when a mark, model or name filter narrows them, ``names`` with a
    part name."""
    arg = _Parameters()
    # Each lookup resolved to an array before the scan, or joined (service_common/totals.py, "Part names").
    joined = groups_joined(filters)

    def one_of(column: str, subquery: str) -> str:
        return f"{column} IN ({subquery})" if joined else f"{column} = ANY(ARRAY({subquery}))"

    where = []
    if filters.mark_name is not None:
        mark = arg(filters.mark_name, "text")
        where.append(one_of("t.mark_id", f"SELECT m.id FROM mark m WHERE upper(m.name::text) = upper({mark})"))
    if filters.producer_country_name is not None:
        country = arg(filters.producer_country_name, "text")
        where.append(
            one_of(
                "t.mark_id", f"SELECT m.id FROM mark m WHERE upper(m.producer_country_name::text) = upper({country})"
            )
        )
    if filters.mark_ids is not None:
        where.append(f"t.mark_id = ANY({arg(list(filters.mark_ids), 'bigint[]')})")
    if filters.model_name is not None:
        model = arg(filters.model_name, "text")
        where.append(one_of("t.model_id", f"SELECT d.id FROM model d WHERE upper(d.name::text) = upper({model})"))
    if filters.model_ids is not None:
        where.append(f"t.model_id = ANY({arg(list(filters.model_ids), 'bigint[]')})")
    if filters.part_name is not None:
        # The substring against the distinct names (part_names), then the groups of those names by index.
        pattern = arg(like_pattern(filters.part_name), "text")
        names = f"SELECT n.name::text FROM part_names n WHERE upper(n.name::text) LIKE upper({pattern})"
        where.append(one_of("t.name::text", names))
    where += _group_colour_and_newness(arg, filters)
    # sum() of bigint is numeric: cast back, the totals fit a bigint.
    columns = ["coalesce(sum(t.parts), 0)::bigint AS count", "coalesce(sum(t.price_sum), 0)::bigint AS summ"]
    if narrows_marks_and_models(filters):
        columns.append("coalesce(array_agg(DISTINCT t.mark_id), '{}') AS marks")
        columns.append("coalesce(array_agg(DISTINCT t.model_id), '{}') AS models")
    if filters.part_name is not None:
        columns.append("coalesce(array_agg(DISTINCT t.name::text), '{}') AS names")
    return arg.statement(f"SELECT {', '.join(columns)} FROM {totals_table(filters)} t WHERE {_where(where)}")


@dataclass(frozen=True, slots=True)
class _Resolved:
    """The placeholders of what the groups step resolved, each ``None`` when the rows step does not use it:
    the mark and model ids, the names, or the name pattern when the names are not sent."""

    marks: str | None
    models: str | None
    names: str | None
    pattern: str | None

    def conditions(self, alias: str) -> list[str]:
        """The same on any table with the group columns (part, part_price_bands), as Django's
        selectors._in_resolved_groups."""
        where = []
        if self.marks is not None and self.models is not None:
            where.append(f"{alias}.mark_id = ANY({self.marks})")
            where.append(f"{alias}.model_id = ANY({self.models})")
        if self.names is not None:
            where.append(f"{alias}.name::text = ANY({self.names})")
        if self.pattern is not None:
            where.append(f"upper({alias}.name::text) LIKE upper({self.pattern})")
        return where


def _resolved(arg: _Parameters, filters: PartFilters, groups: Any) -> _Resolved:
    narrow = narrows_marks_and_models(filters)
    names = name_choices(filters, groups["names"]) if filters.part_name is not None else None
    return _Resolved(
        marks=arg(list(groups["marks"]), "bigint[]") if narrow else None,
        models=arg(list(groups["models"]), "bigint[]") if narrow else None,
        names=arg(names, "text[]") if names is not None else None,
        pattern=(
            arg(like_pattern(filters.part_name), "text") if filters.part_name is not None and names is None else None
        ),
    )


def _part_match(arg: _Parameters, filters: PartFilters, resolved: _Resolved, *, price: bool = True) -> list[str]:
    """The visible parts of the resolved groups that pass every filter (the price bounds only with ``price``)."""
    where = ["p.is_visible", *resolved.conditions("p")]
    if filters.color is not None:
        where.append(f"upper((p.json_data ->> 'color')::text) = upper({arg(filters.color, 'text')})")
    if filters.is_new_part is not None:
        where.append(f"(p.json_data -> 'is_new_part') = {arg(filters.is_new_part, 'jsonb')}")
    if filters.count is not None:
        where.append(f"(p.json_data -> 'count') = {arg(filters.count, 'jsonb')}")
    if price and filters.price_gte is not None:
        where.append(f"p.price >= {arg(filters.price_gte, 'integer')}")
    if price and filters.price_lte is not None:
        where.append(f"p.price <= {arg(filters.price_lte, 'integer')}")
    return where


def part_search_totals(filters: PartFilters, groups: Any) -> Statement:
    """count and summ summed over the matching parts: a stock-count filter, or a price filter that few parts
    pass the other filters of (service_common/totals.py, PRICE_BANDS_FROM)."""
    arg = _Parameters()
    where = _where(_part_match(arg, filters, _resolved(arg, filters, groups)))
    return arg.statement(f"SELECT count(*) AS count, coalesce(sum(p.price), 0) AS summ FROM part p WHERE {where}")


def part_price_totals(filters: PartFilters, groups: Any, split: PriceSplit) -> Statement:
    """count and summ of a price filter (service_common/totals.py, "Price bands"): the bands wholly inside
    the range of the matching groups, plus the parts of its two partial bands, each an index-only range
    (UNION ALL: an OR of the two would be a bitmap scan, which visits the table). Both edges are always
    there, an empty one as a range that ends before it starts, so a price filter has one shape."""
    arg = _Parameters()
    resolved = _resolved(arg, filters, groups)
    bands = resolved.conditions("t") + _group_colour_and_newness(arg, filters)
    table = bands_table(filters)
    bands.append(f"t.band BETWEEN {arg(split.first_band, 'integer')} AND {arg(split.last_band, 'integer')}")
    match = _where(_part_match(arg, filters, resolved, price=False))
    low = f"{arg(split.low_edge[0], 'integer')} AND {arg(split.low_edge[1], 'integer')}"
    high = f"{arg(split.high_edge[0], 'integer')} AND {arg(split.high_edge[1], 'integer')}"
    return arg.statement(
        "SELECT b.count + e.count AS count, b.summ + e.summ AS summ"
        " FROM (SELECT coalesce(sum(t.parts), 0)::bigint AS count, coalesce(sum(t.price_sum), 0)::bigint AS summ"
        f" FROM {table} t WHERE {_where(bands)}) b,"
        " (SELECT count(*) AS count, coalesce(sum(u.price), 0)::bigint AS summ"
        f" FROM (SELECT p.price FROM part p WHERE {match} AND p.price BETWEEN {low}"
        f" UNION ALL SELECT p.price FROM part p WHERE {match} AND p.price BETWEEN {high}) u) e"
    )


def part_search_page(filters: PartFilters, groups: Any) -> Statement:
    """One page of matches in id order.

    The page is found on ``part`` alone and joined to its mark and model after the LIMIT: joined before, the
    planner weighed the joins for every match it might read, and planning was most of the statement's cost
    (the task's workload, each page statement explained: 0.35 ms planned and 0.74 executed at a million parts,
    0.31 and 0.09 at 10 000; joined after the LIMIT, 0.21 and 0.73, 0.18 and 0.08).
    """
    arg = _Parameters()
    where = _where(_part_match(arg, filters, _resolved(arg, filters, groups)))
    offset = arg(filters.offset, "integer")
    return arg.statement(
        "SELECT p.id, p.name, p.json_data, p.price,"
        " m.id AS mark_id, m.name AS mark_name, m.producer_country_name,"
        " d.id AS model_id, d.name AS model_name"
        " FROM (SELECT p.id, p.name, p.json_data, p.price, p.mark_id, p.model_id FROM part p"
        f" WHERE {where} ORDER BY p.id LIMIT {PAGE_SIZE} OFFSET {offset}) p"
        " JOIN mark m ON m.id = p.mark_id JOIN model d ON d.id = p.model_id ORDER BY p.id"
    )


# Whether the migrations this release's statements need have run (db.schema_wait waits for it at start).
SCHEMA_READY = (
    "SELECT to_regclass('part_totals') IS NOT NULL AND to_regclass('catalog_version') IS NOT NULL"
    " AND to_regclass('part_names') IS NOT NULL AND to_regclass('part_colour_bands') IS NOT NULL"
)
