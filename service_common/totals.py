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
combinations; tests/catalog/test_part_totals.py recounts the table after every kind
of write.

Price bands
-----------

A price filter splits groups, so their totals cannot answer it. ``part_price_bands`` (migration 0006, the
same triggers) holds each group's count and price sum per band of ``PRICE_BAND_WIDTH``. A price range is
then the bands wholly inside it, summed there for the matching groups, plus the parts of the two partial
bands at its ends, summed from ``part`` (:func:`price_split`). At a million parts a band of one group holds
about five parts: a range reads a few band rows per group and at most two bands' worth of parts, where it
read every matching part before. That pays off when many parts pass the other filters; a narrow search
still sums its few parts (``PRICE_BANDS_FROM``). A stock-count filter always sums parts: the count is
not a group column.

Part names
----------

A name substring is matched against ``part_names`` (migration 0007: every distinct name of a visible part,
5 000 in the realistic profile), and the groups of the matching names are read through
``part_totals_name_idx`` (0008); ``part_totals_model_idx`` does the same for a model without a mark. On a
catalog whose groups are nearly as many as its parts (the realistic profile, 729 000 groups at a million
parts), ``upper(name) LIKE`` on the groups read every one of them: 600 ms for a three-letter name, now 31 ms.
The names themselves are found by trigram index (0012), which also gives PostgreSQL statistics on
``upper(name)``.

With a mark, model or country filter too, the groups step *joins* the names and those lookups
(``IN (SELECT ...)``, :func:`groups_joined`) instead of resolving each to an array first
(``= ANY(ARRAY(SELECT ...))``). From arrays PostgreSQL probes ``part_totals_name_idx`` once per name but tests
the mark as a filter (it plans an array of unknown length as ten values, and two of them as a hundred probes):
``{"mark_name": "infiniti", "part_name": "pre"}`` on the realistic million read the 79 000 groups of the 1 190
names to keep 574 (15 ms). Joined, each name's probe carries the mark too (0.005 ms a name: 5 ms). Alone, a
name keeps its array: joined, name-only searches got slower (``{"part_name": "oem", "page": 5}``'s
groups step 40 to 78 ms). Over the realistic
workload, one search at a time, the groups step went from 5.7 to 3.5 ms a search (from 6.7 before 0012).
The join costs planning where there is nothing to save: on the task's catalog (15 names, 2 025 groups) such a
statement is planned in 0.2-0.45 ms against 0.1 for the arrays, and runs in the same 0.06 ms.

Searches without a group filter
-------------------------------

With no mark, model or name filter (a colour, new parts only, a price range, nothing at all), every group of
the colour and newness matches, and their sum would read nearly all of ``part_totals`` on such a catalog.
``part_colour_bands`` (migration 0009) holds count and price sum by colour, newness and price band only: a
few thousand rows whatever the size (6 700 in the realistic profile at a million parts, 2 238 at 10 000
parts of the task's), so the groups step and the whole bands of a price range read at most that (:func:`totals_table`,
:func:`bands_table`); the two partial bands are still summed from ``part``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from search_contract.filters import MAX_PRICE, PartFilters
from service_common.environment import env_int

# Above this many distinct matching names the substring is tested on ``part`` itself (with the trigram
# index) instead of sending the names: a catalog of mostly unique names would make the array as long as
# the matches. The seed catalog has 15 names.
NAME_CHOICES_LIMIT = 1000


# The width of a price band: ``band = price / PRICE_BAND_WIDTH`` (integer division), as migration 0006's
# triggers write it. 1 000 makes about 100 bands of the seed's prices.
PRICE_BAND_WIDTH = 1000
# Up to this many parts passing the other filters, a price filter's totals are summed over the parts (an
# index-only range of part_group_price_idx); above it, read from the bands. pgbench at a million parts, one
# client, random ranges, medians of three runs (bench-results/price-bands-1m): a mark, its model and two names
# (7 000 parts) 3.8 ms summed against 6.1 through the bands, whose two edges scan the same index prefix; a
# mark (180 000) 18.7 against 6.1; a colour (56 000) 122.7 against 18.8; no other filter 24.2 against 8.1.
# SEARCH_PRICE_BANDS_FROM sets it (the same for both services: read once, at import); the tests lower it so
# that their small catalog takes both ways.
PRICE_BANDS_FROM = env_int("SEARCH_PRICE_BANDS_FROM", 20_000, low=0)


@dataclass(frozen=True, slots=True)
class PriceSplit:
    """A price range as the bands wholly inside it (``first_band`` to ``last_band``, none when first > last)
    and the two inclusive price ranges at its ends (empty when low > high) whose parts are summed."""

    first_band: int
    last_band: int
    low_edge: tuple[int, int]
    high_edge: tuple[int, int]


def totals_need_rows(filters: PartFilters) -> bool:
    """Whether the groups' totals do not answer: a price or stock-count filter, which splits groups (their
    values are not group columns). The parts are then summed, or the price bands read (:func:`price_split`)."""
    return filters.price_gte is not None or filters.price_lte is not None or filters.count is not None


def price_split(filters: PartFilters, matches: int) -> PriceSplit | None:
    """How the totals of a price filter are read (see "Price bands" above), given the number of parts that
    pass the other filters (the groups' total); ``None`` when the parts are summed instead: without a price
    filter, with a stock-count filter, or when at most ``PRICE_BANDS_FROM`` parts pass the other filters."""
    if (filters.price_gte is None and filters.price_lte is None) or filters.count is not None:
        return None
    if matches <= PRICE_BANDS_FROM:
        return None
    low = 0 if filters.price_gte is None else filters.price_gte
    high = MAX_PRICE if filters.price_lte is None else filters.price_lte
    first = -(-low // PRICE_BAND_WIDTH)  # the first band that starts at or above low
    last = (high + 1) // PRICE_BAND_WIDTH - 1  # the last band that ends at or below high
    if first > last:
        return PriceSplit(first_band=1, last_band=0, low_edge=(low, high), high_edge=(1, 0))
    return PriceSplit(
        first_band=first,
        last_band=last,
        low_edge=(low, first * PRICE_BAND_WIDTH - 1),
        high_edge=((last + 1) * PRICE_BAND_WIDTH, high),
    )


def _mark_or_model_given(filters: PartFilters) -> bool:
    """Whether a mark, country or model filter (by name or by id) was given."""
    return any(
        value is not None
        for value in (
            filters.mark_name,
            filters.producer_country_name,
            filters.mark_ids,
            filters.model_name,
            filters.model_ids,
        )
    )


def narrows_marks_and_models(filters: PartFilters) -> bool:
    """Whether step 2 gets the resolved mark and model ids: when a mark, model or name filter was given
    (they lead the group index). Without one they would only list every mark and model."""
    return filters.part_name is not None or _mark_or_model_given(filters)


def groups_joined(filters: PartFilters) -> bool:
    """Whether the groups step joins a name substring and the mark, model and country lookups (``IN (SELECT
    ...)``) rather than resolving each to an array first: a name with one of those (see "Part names")."""
    return filters.part_name is not None and _mark_or_model_given(filters)


def totals_table(filters: PartFilters) -> str:
    """The table of the groups step: ``part_totals``, or ``part_colour_bands`` for a search with no mark, model
    or name filter (see "Searches without a group filter")."""
    return "part_totals" if narrows_marks_and_models(filters) else "part_colour_bands"


def bands_table(filters: PartFilters) -> str:
    """The table of a price filter's whole bands: ``part_price_bands``, or ``part_colour_bands`` for a search
    with no mark, model or name filter."""
    return "part_price_bands" if narrows_marks_and_models(filters) else "part_colour_bands"


def name_choices(filters: PartFilters, names: Sequence[str]) -> list[str] | None:
    """The names step 2 tests with equality, or ``None`` when it tests the substring itself."""
    if filters.part_name is None or len(names) > NAME_CHOICES_LIMIT:
        return None
    return list(names)
