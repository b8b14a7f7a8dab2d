"""How both services find ``count`` and ``summ`` without reading every matching part.

The two totals are exact sums over all matches, and a broad filter (a mark, a
country, a colour, a name substring) matches 50 000 to 350 000 of a million
parts: summing them row by row cost 30 to 160 ms a search. So PostgreSQL keeps
``part_totals`` (catalog/models.py, maintained by triggers in migration 0004):
the count and price sum of the visible parts of each *group*, the parts that
share mark, model, name, upper-cased colour and ``is_new_part``. A search runs
in two steps:

1. **Resolve** on ``part_totals``: the same per-column filters, applied to the
   groups, give the totals (when no filter looks inside a group, see
   :func:`totals_need_rows`) and the mark ids, model ids and names of the
   matching groups. This reads a few hundred or thousand group rows, not the
   matching parts.
2. **Rows** on ``part``: the page (and the totals of a price or stock-count
   filter) with those ids and names as plain ``= ANY(array)`` values. The
   planner then sees real values (the old ``IN (SELECT ...)`` hid them) and
   estimates each filter from its statistics; a name substring becomes name
   equality, which the ``(mark, model, name, colour, is_new_part, price)``
   index serves directly.

Every filter is a test on one column, so the matching groups are exactly the
combinations of those ids and names that exist, and step 2 gives the same rows
as filtering ``part`` directly. tests/test_parity.py and tests/test_search.py
compare both services with a Python model of the contract over many filter
combinations; tests/app/test_part_totals.py recounts the table after every kind
of write.
"""

from __future__ import annotations

from collections.abc import Sequence

from search_contract.filters import PartFilters

# Above this many distinct matching names the substring is tested on ``part`` itself (with the trigram
# index) instead of sending the names: a catalog of mostly unique names would make the array as long as
# the matches. The seed catalog has 15 names.
NAME_CHOICES_LIMIT = 1000


def totals_need_rows(filters: PartFilters) -> bool:
    """Whether ``count`` and ``summ`` must be summed over parts: a price or stock-count filter, which
    splits groups (their values are not group columns)."""
    return filters.price_gte is not None or filters.price_lte is not None or filters.count is not None


def narrows_marks_and_models(filters: PartFilters) -> bool:
    """Whether step 2 gets the resolved mark and model ids: when a mark, model or name filter was given
    (they lead the group index). Without one they would only list every mark and model."""
    return any(
        value is not None
        for value in (
            filters.mark_name,
            filters.producer_country_name,
            filters.mark_ids,
            filters.model_name,
            filters.model_ids,
            filters.part_name,
        )
    )


def name_choices(filters: PartFilters, names: Sequence[str]) -> list[str] | None:
    """The names step 2 tests with equality, or ``None`` when it tests the substring itself."""
    if filters.part_name is None or len(names) > NAME_CHOICES_LIMIT:
        return None
    return list(names)
