"""service_common.totals.price_split: a price range as whole bands plus two edge ranges, checked against
every price near the band boundaries (each price must be counted exactly once, by a band or by an edge)."""

from __future__ import annotations

import pytest

from search_contract.filters import MAX_PRICE, PartFilters
from service_common.totals import PRICE_BAND_WIDTH, PRICE_BANDS_FROM, PriceSplit, price_split


def _counted(split: PriceSplit, price: int) -> int:
    """How many times the split counts a part of this price."""
    band = price // PRICE_BAND_WIDTH
    times = int(split.first_band <= band <= split.last_band)
    for low, high in (split.low_edge, split.high_edge):
        times += int(low <= price <= high)
    return times


@pytest.mark.parametrize(
    ("low", "high"),
    [
        (None, None),
        (0, 999),
        (0, 1000),
        (1, 998),
        (999, 1000),
        (1000, 1999),
        (1000, 2000),
        (12_345, 67_890),
        (5_000, None),
        (None, 4_999),
        (3_500, 3_400),
        (MAX_PRICE - 1500, None),
        (MAX_PRICE - 10, MAX_PRICE),
    ],
)
def test_every_price_in_the_range_counts_once_and_none_outside(low: int | None, high: int | None) -> None:
    filters = PartFilters(price_gte=low, price_lte=high)
    split = price_split(filters, PRICE_BANDS_FROM + 1)
    if low is None and high is None:
        assert split is None
        return
    assert split is not None
    lowest, highest = low or 0, MAX_PRICE if high is None else high
    probes = {0, 1, MAX_PRICE, MAX_PRICE - 1}
    for bound in (lowest, highest):
        for base in (bound, (bound // PRICE_BAND_WIDTH) * PRICE_BAND_WIDTH):
            probes.update(base + delta for delta in (-1001, -1000, -999, -1, 0, 1, 999, 1000, 1001))
    for price in sorted(p for p in probes if 0 <= p <= MAX_PRICE):
        assert _counted(split, price) == int(lowest <= price <= highest), (price, split)
    # The edges hold less than a band each: the rest comes from the bands.
    for edge_low, edge_high in (split.low_edge, split.high_edge):
        assert edge_high - edge_low < PRICE_BAND_WIDTH or split.first_band > split.last_band


def test_a_stock_count_filter_or_a_narrow_search_sums_parts() -> None:
    assert price_split(PartFilters(price_gte=10, count=3), 10**6) is None
    assert price_split(PartFilters(price_gte=10), PRICE_BANDS_FROM) is None
    assert price_split(PartFilters(price_gte=10), PRICE_BANDS_FROM + 1) is not None
