"""Fault knobs for TEST RELEASES ONLY: a release that fails a share of searches, or answers them late.

The canary scenarios need a candidate that is measurably worse than the live colour (README, "Versions" and
"Configuration"). Two variables, read once at start by both services; unset or 0, they do nothing and cost
nothing (Django leaves its middleware out, FastAPI checks one flag). Never set them on a real release.

- ``PARTSCAT_FAULT_ERROR_SHARE``: a number from 0 to 1. That share of the process's searches (``POST
  /search/part/`` in every version) is answered 500 with the contract's error body, code ``injected_fault``.
  Which ones is a counter, not chance: the n-th search fails when ``floor(n x share + 1/2)`` steps up, so
  any run of N searches of one process holds the share's failures give or take one (0.05: every 20th,
  from the 10th: the first searches, a deploy's smoke checks, pass).
- ``PARTSCAT_FAULT_DELAY_MS``: whole milliseconds added before each search is answered (the failing ones
  too). The delay holds no database slot: Django sleeps before its admission middleware, FastAPI awaits
  before it takes a slot, so the release is slow without shedding load it would otherwise carry.

A value that is not a number in range stops the service at start, naming the variable.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from fractions import Fraction

from service_common.environment import InvalidSetting, env_int, env_value

ERROR_SHARE_VARIABLE = "PARTSCAT_FAULT_ERROR_SHARE"
DELAY_VARIABLE = "PARTSCAT_FAULT_DELAY_MS"
# A minute: past every timeout on the way (Nginx's 15 s), so anything larger is a typo, not a test.
MAX_DELAY_MS = 60_000
# The share as an exact fraction (0.05 is 1/20), so the counter fails exactly every 20th search.
_SHARE_DENOMINATOR_MAX = 1_000_000
HALF = Fraction(1, 2)


def error_share_parse(raw: str) -> Fraction:
    try:
        share = float(raw)
    except ValueError:
        share = math.nan
    if not (math.isfinite(share) and 0 <= share <= 1):
        raise InvalidSetting(f"{ERROR_SHARE_VARIABLE} must be a number from 0 to 1 (test releases only), not {raw!r}")
    return Fraction(share).limit_denominator(_SHARE_DENOMINATOR_MAX)


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchFaults:
    """The two knobs as read at start (module docstring)."""

    error_share: Fraction
    delay_ms: int

    @classmethod
    def from_env(cls) -> SearchFaults:
        delay_ms = env_int(DELAY_VARIABLE, 0, low=0)
        if delay_ms > MAX_DELAY_MS:
            raise InvalidSetting(
                f"{DELAY_VARIABLE} must be at most {MAX_DELAY_MS} milliseconds (test releases only), not {delay_ms}"
            )
        return cls(error_share=error_share_parse(env_value(ERROR_SHARE_VARIABLE, "0").strip()), delay_ms=delay_ms)

    @property
    def active(self) -> bool:
        return bool(self.error_share or self.delay_ms)

    @property
    def delay_s(self) -> float:
        return self.delay_ms / 1000


class ErrorShare:
    """Which searches of this process fail: the n-th when ``floor(n x share + 1/2)`` steps up (module docstring).

    A counter rather than chance: a window of N searches holds the share's failures give or take one per
    process, so a test can bound them tightly and the canary's error rate is steady. Thread-safe (Django's
    gthread workers count from several threads at once).
    """

    def __init__(self, share: Fraction) -> None:
        self._share = share
        self._searches = 0
        self._lock = threading.Lock()

    def next_fails(self) -> bool:
        if not self._share:
            return False
        with self._lock:
            self._searches += 1
            n = self._searches
        # Half a period in: 0.05 fails the 10th, 30th, 50th... search, so a release's first few searches (its
        # smoke checks) pass and a canary's first window already meets its failures.
        return math.floor(n * self._share + HALF) > math.floor((n - 1) * self._share + HALF)
