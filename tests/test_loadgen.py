"""The load generator's own arithmetic: when would a 100 ms outage have gone unseen? (No servers needed.)"""

from __future__ import annotations

from tests.swarm.loadgen import KEEPALIVE, Call, Outcome, Window

CALL = Call("GET", "/mark/", None, 200)


def _window(spans: list[tuple[float, float]], seconds: float = 10.0) -> Window:
    outcomes = [Outcome(0, KEEPALIVE, start, end, CALL, 200, "") for start, end in spans]
    return Window("test", 0.0, seconds, outcomes)


def test_back_to_back_requests_see_every_outage() -> None:
    window = _window([(i * 0.01, i * 0.01 + 0.01) for i in range(1000)])
    assert window.outage_detection_share() == 1.0


def test_idle_clients_miss_outages_that_fit_in_their_idle_time() -> None:
    # Busy for 1 s, idle for 1 s, five times: an outage starting in the first 0.9 s of each idle second is missed.
    window = _window([(2.0 * i, 2.0 * i + 1.0) for i in range(5)])
    assert abs(window.outage_detection_share() - (1 - 5 * 0.9 / 10)) < 1e-9


def test_a_stall_with_requests_in_flight_is_not_idle_but_shows_as_a_gap() -> None:
    # Every client waits 1.5 s on a slow answer: no request starts, but one is in flight all the time.
    window = _window([(0.0, 0.01), (0.01, 1.51), *((1.51 + i * 0.01, 1.52 + i * 0.01) for i in range(848))])
    assert window.outage_detection_share() == 1.0
    assert window.max_gap_ms >= 1500
