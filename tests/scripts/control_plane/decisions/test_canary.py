"""decisions/canary.py: the steps, the figures of a window, and each step's judgement."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.control_plane.decisions import canary
from scripts.control_plane.decisions.canary import Figures, Thresholds

BOUNDS = (5.0, 10.0, 25.0, 50.0, 100.0, 150.0, 200.0, 300.0, 400.0, 500.0, 750.0, 1000.0)


def metrics(**colours: tuple[int, int, list[int]]) -> dict[str, Any]:
    """GET /edge/metrics with one route per colour: (requests, 5xx, buckets)."""
    return {
        "buckets_ms": list(BOUNDS),
        "colours": {
            colour: {"search": {"requests": requests, "5xx": errors, "edge_failures": 0, "buckets": buckets}}
            for colour, (requests, errors, buckets) in colours.items()
        },
    }


def buckets(**counts: int) -> list[int]:
    """b<index>=count -> a bucket list as long as the edge's (len(BOUNDS) + 1)."""
    found = [0] * (len(BOUNDS) + 1)
    for name, count in counts.items():
        found[int(name[1:])] = count
    return found


@pytest.mark.parametrize(
    ("text", "steps"), [("5,25,50", (5, 25, 50)), ("10,100", (10,)), (" 1, 99 ", (1, 99)), ("50", (50,))]
)
def test_steps(text: str, steps: tuple[int, ...]) -> None:
    assert canary.steps_parse(text) == steps


@pytest.mark.parametrize("text", ["", "100", "0,50", "50,25", "5,5", "5,x", "5,101"])
def test_bad_steps(text: str) -> None:
    with pytest.raises(canary.CanaryError, match="--steps"):
        canary.steps_parse(text)


def test_a_quantile_is_read_linearly_inside_its_bucket() -> None:
    # 100 requests: 90 under 5 ms, 10 between 100 and 150 ms. The 99th is the 9th of those 10.
    assert canary.quantile_ms(buckets(b0=90, b5=10), BOUNDS, 0.99) == pytest.approx(145.0)
    assert canary.quantile_ms(buckets(b0=100), BOUNDS, 0.99) == pytest.approx(4.95)
    # Slower than the last bound: the last bound is all that is known.
    assert canary.quantile_ms(buckets(b0=50, b12=50), BOUNDS, 0.99) == 1000.0
    assert canary.quantile_ms(buckets(), BOUNDS, 0.99) == 0.0


def test_a_window_is_the_difference_of_two_reads_summed_over_tasks() -> None:
    before = {
        "nginx-1": metrics(blue=(100, 1, buckets(b0=100)), green=(10, 0, buckets(b1=10))),
        "nginx-2": metrics(blue=(500, 0, buckets(b0=500))),
    }
    after = {
        "nginx-1": metrics(blue=(160, 2, buckets(b0=160)), green=(30, 5, buckets(b1=25, b9=5))),
        # nginx-2 restarted (its counters went down): all it counts is new.
        "nginx-2": metrics(blue=(40, 0, buckets(b0=40)), green=(5, 0, buckets(b1=5))),
        # A task that was not there before.
        "nginx-3": metrics(green=(1, 1, buckets(b2=1))),
    }
    blue = canary.window(before, after, "blue")
    green = canary.window(before, after, "green")
    assert (blue.requests, blue.errors, sum(blue.buckets)) == (100, 1, 100)
    assert (green.requests, green.errors) == (26, 6)
    assert green.buckets == tuple(buckets(b1=20, b2=1, b9=5))
    assert canary.window(before, after, "purple") == Figures(bounds_ms=BOUNDS)


def figures(requests: int, errors: int = 0, *, slow: int = 0, slow_bucket: int = 11) -> Figures:
    counts = buckets(b3=requests - slow)
    counts[slow_bucket] += slow
    return Figures(requests, errors, 0, tuple(counts), BOUNDS)


def test_too_few_requests_hold_and_never_promote() -> None:
    judgement = canary.judge(figures(500), figures(40), Thresholds(min_requests=50))
    assert judgement.decision == "hold"
    assert judgement.reason == (
        "thin traffic: the candidate had 40 and the live colour 500 requests in the window; 50 each are needed to judge"
    )
    assert canary.judge(figures(0), figures(0), Thresholds(min_requests=1)).decision == "hold"


def test_a_candidate_that_fails_more_is_switched_back() -> None:
    judgement = canary.judge(figures(1000, 2), figures(200, 10), Thresholds(max_error_rate_increase=1.0))
    assert judgement.decision == "switch_back"
    assert judgement.reason.startswith("error rate 5.00 % against the live colour's 0.20 % (+4.80 points")
    # Within the allowance: 1.5 % against 1 % with 1 point allowed.
    assert canary.judge(figures(1000, 10), figures(200, 3), Thresholds()).decision == "promote"


def test_a_slower_candidate_is_switched_back_on_p99() -> None:
    # 5 % of the candidate's requests take 750-1000 ms: its p99 is there; the live colour's is under 50 ms.
    judgement = canary.judge(figures(1000), figures(200, slow=10), Thresholds(max_p99_increase_ms=300))
    assert judgement.decision == "switch_back"
    # Read at the 5th slowest of 200 (the 196th answer), not the 198th: 750 + 250 x 6 / 10.
    assert "p99 900 ms against the live colour's 50 ms (+850 ms; at most +300 ms allowed)" in judgement.reason


def test_a_few_slow_answers_in_a_small_window_do_not_switch_a_release_back() -> None:
    # Over 100 requests, the p99 of the histogram alone would be the 2nd slowest answer: two cold answers of
    # 750-1000 ms would make it 875 ms. It stands on the 5th slowest instead, so four slow answers pass...
    assert canary.judge(figures(1000), figures(100, slow=4), Thresholds()).decision == "promote"
    # ...and five do not.
    judgement = canary.judge(figures(1000), figures(100, slow=5), Thresholds())
    assert judgement.decision == "switch_back", judgement.reason
    # With enough requests the p99 is the p99 again: 1 % of 1 000 answers slow, 2 % slow.
    assert canary.judge(figures(1000), figures(1000, slow=10), Thresholds()).decision == "promote"
    assert canary.judge(figures(1000), figures(1000, slow=20), Thresholds()).decision == "switch_back"


def test_a_good_candidate_passes_with_its_figures() -> None:
    judgement = canary.judge(figures(1000, 1), figures(150), Thresholds())
    assert judgement.decision == "promote"
    assert judgement.candidate.summary() == {
        "requests": 150,
        "errors": 0,
        "error_rate_percent": 0.0,
        "edge_failures": 0,
        "p99_ms": 49.3,  # the 5th slowest of 150: 25 + 25 x 146 / 150
    }


def test_thresholds_and_allowlist_values_are_checked() -> None:
    with pytest.raises(canary.CanaryError):
        Thresholds(min_requests=0)
    with pytest.raises(canary.CanaryError):
        Thresholds(max_p99_increase_ms=-1)
    assert canary.allow_values(["team-qa", "bot.1"]) == ("team-qa", "bot.1")
    with pytest.raises(canary.CanaryError, match="letters, digits"):
        canary.allow_values(["a b"])
    assert Thresholds().label() == "min-requests=100 max-error-rate-increase=1pp max-p99-increase=300ms"


def test_a_route_that_fails_more_is_caught_where_all_routes_together_hide_it() -> None:
    # The candidate's searches fail one in twenty; its other routes do not: 2.5 % over all, 5 % on the search.
    live, candidate = figures(2000), figures(400, 10)
    by_route = {
        "django-search": (figures(1000), figures(200, 10)),
        "django": (figures(1000), figures(200)),
        # Too few requests on this route to judge it on its own.
        "fastapi": (figures(1000), figures(10, 10)),
    }
    loose = Thresholds(max_error_rate_increase=3.0)
    assert canary.judge(live, candidate, loose).decision == "promote"
    judgement = canary.judge(live, candidate, loose, by_route)
    assert judgement.decision == "switch_back"
    assert judgement.reason.startswith("error rate on django-search 5.00 % against the live colour's 0.00 %")


def test_a_window_of_one_route() -> None:
    before = {"nginx-1": metrics(blue=(10, 0, buckets(b0=10)))}
    after = {
        "nginx-1": {
            "buckets_ms": list(BOUNDS),
            "colours": {
                "blue": {
                    "search": {"requests": 30, "5xx": 2, "edge_failures": 0, "buckets": buckets(b0=30)},
                    "other": {"requests": 5, "5xx": 0, "edge_failures": 0, "buckets": buckets(b1=5)},
                }
            },
        }
    }
    assert canary.routes(after) == ["other", "search"]
    assert (canary.window(before, after, "blue", "search").requests, canary.window(before, after, "blue").requests) == (
        20,
        25,
    )
    assert canary.window(before, after, "blue", "other").buckets == tuple(buckets(b1=5))
