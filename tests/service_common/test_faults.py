"""service_common/faults.py: the test releases' knobs, read strictly, and the counter that picks the failures."""

from __future__ import annotations

from fractions import Fraction

import pytest

from service_common.environment import InvalidSetting
from service_common.faults import DELAY_VARIABLE, ERROR_SHARE_VARIABLE, MAX_DELAY_MS, ErrorShare, SearchFaults


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (ERROR_SHARE_VARIABLE, DELAY_VARIABLE):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    return monkeypatch


def test_unset_or_zero_is_off(env: pytest.MonkeyPatch) -> None:
    assert not SearchFaults.from_env().active
    env.setenv(ERROR_SHARE_VARIABLE, "0")
    env.setenv(DELAY_VARIABLE, "0")
    faults = SearchFaults.from_env()
    assert not faults.active
    share = ErrorShare(faults.error_share)
    assert not any(share.next_fails() for _ in range(1000))


def test_the_knobs_are_read_exactly(env: pytest.MonkeyPatch) -> None:
    env.setenv(ERROR_SHARE_VARIABLE, "0.05")
    env.setenv(DELAY_VARIABLE, "300")
    faults = SearchFaults.from_env()
    assert faults.active
    assert faults.error_share == Fraction(1, 20)
    assert faults.delay_s == 0.3


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        (ERROR_SHARE_VARIABLE, "1.01"),
        (ERROR_SHARE_VARIABLE, "-0.1"),
        (ERROR_SHARE_VARIABLE, "5%"),
        (ERROR_SHARE_VARIABLE, "nan"),
        (ERROR_SHARE_VARIABLE, "inf"),
        (ERROR_SHARE_VARIABLE, "a tenth"),
        (DELAY_VARIABLE, "-1"),
        (DELAY_VARIABLE, "0.5"),
        (DELAY_VARIABLE, "300ms"),
        (DELAY_VARIABLE, str(MAX_DELAY_MS + 1)),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(env: pytest.MonkeyPatch, variable: str, value: str) -> None:
    env.setenv(variable, value)
    with pytest.raises(InvalidSetting, match=variable):
        SearchFaults.from_env()


@pytest.mark.parametrize("share", ["0.05", "0.25", "0.5", "1", "0.333", "0.001"])
def test_every_window_holds_the_share_give_or_take_one(share: str) -> None:
    fraction = Fraction(share)
    counter = ErrorShare(fraction)
    fails = [counter.next_fails() for _ in range(4000)]
    assert sum(fails) == int(4000 * fraction)
    for window in (20, 100, 1000):
        expected = window * fraction
        for start in range(0, len(fails) - window, 37):
            assert expected - 1 < sum(fails[start : start + window]) < expected + 1, (share, window, start)


def test_the_failures_are_spread_not_bunched() -> None:
    counter = ErrorShare(Fraction(1, 20))
    fails = [counter.next_fails() for _ in range(100)]
    assert [index + 1 for index, failed in enumerate(fails) if failed] == [10, 30, 50, 70, 90]
