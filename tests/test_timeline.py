"""The zero-downtime timelines (tests/swarm/timeline.py) and their place in the report (tests/swarm/report.py),
from synthetic loads and event logs: no servers, no Docker."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from tests.swarm.loadgen import (
    KEEPALIVE,
    NEW_CONNECTION,
    REFUSED,
    TIMED_OUT,
    TRAFFIC,
    Call,
    LoadGenerator,
    Outcome,
    Window,
)
from tests.swarm.report import Scenario, events_file, report_markdown, timeline_file_names, timelines_write
from tests.swarm.timeline import (
    OTHER,
    RESET_OR_CLOSED,
    SERVER_ERROR,
    SHED,
    events_read,
    failure_kind,
    timeline_draw,
    timeline_of,
)

ROOT = Path(__file__).resolve().parents[1]
SEARCH = Call("POST", "/search/part/", {"part_name": "x"}, 200)
NOT_RETRIED = Call("POST", "/mark/", {"name": "not retried"}, 405)
# The wall clock when the synthetic loads start: their clocks count from 0 (as monotonic might), so every event
# at EPOCH + s is s seconds into the load.
EPOCH = 1_796_536_000.0


def _outcome(
    started: float, latency_ms: float = 10.0, *, status: int | None = 200, error: str | None = None
) -> Outcome:
    return Outcome(0, KEEPALIVE, started, started + latency_ms / 1000, SEARCH, status, "", error)


def test_failures_are_classified_by_the_error_the_client_saw_or_the_status() -> None:
    cases = {
        "ConnectionRefusedError": REFUSED,
        "ConnectionResetError": RESET_OR_CLOSED,
        "BrokenPipeError": RESET_OR_CLOSED,
        "RemoteDisconnected": RESET_OR_CLOSED,  # http.client: closed without a response
        "IncompleteRead": RESET_OR_CLOSED,  # an answer cut short (AnswerCutShort keeps its cause's name)
        "TimeoutError": TIMED_OUT,
        "LineTooLong": OTHER,
    }
    for error, kind in cases.items():
        assert failure_kind(_outcome(0, status=None, error=error)) == kind, error
    assert failure_kind(_outcome(0, status=503)) == SHED
    assert [failure_kind(_outcome(0, status=status)) for status in (500, 502, 504)] == [SERVER_ERROR] * 3
    assert failure_kind(_outcome(0, status=404)) == OTHER
    assert failure_kind(_outcome(0, status=200)) is None
    # The POST Nginx never retries is due a 405: that is no failure, a 200 is one.
    assert failure_kind(Outcome(0, NEW_CONNECTION, 0, 0.01, NOT_RETRIED, 405, "")) is None
    assert failure_kind(Outcome(0, NEW_CONNECTION, 0, 0.01, NOT_RETRIED, 200, "")) == OTHER


def test_each_second_counts_its_requests_latencies_and_failures_by_kind() -> None:
    # 100 requests a second for 3 s (latency 1..100 ms in each second), 2.5 s of it: the last second is half.
    outcomes = [_outcome(second + i / 100, latency_ms=i + 1) for second in range(3) for i in range(100)]
    outcomes = [outcome for outcome in outcomes if outcome.started < 2.5]
    outcomes += [
        _outcome(1.2, status=None, error="ConnectionRefusedError"),
        _outcome(1.3, status=503),
        _outcome(1.4, status=503),
        _outcome(2.1, latency_ms=5000, status=None, error="TimeoutError"),
        _outcome(-0.5),  # before the load's start mark, and after its end: not in the timeline
        _outcome(2.6),
    ]
    timeline = timeline_of("t", outcomes, {"start": 0.0, "end": 2.5}, [], epoch_offset=EPOCH)
    assert [second.requests for second in timeline.seconds] == [100, 103, 51]
    assert [second.width for second in timeline.seconds] == [1.0, 1.0, 0.5]
    assert [second.rate for second in timeline.seconds] == [100.0, 103.0, 102.0]
    first = timeline.seconds[0]
    # Percentiles as the report takes them (loadgen.percentile), over the answers that did not fail.
    assert math.isclose(first.p50_ms, 51) and math.isclose(first.p99_ms, 100)
    assert dict(timeline.seconds[1].failures) == {REFUSED: 1, SHED: 2}
    assert dict(timeline.seconds[2].failures) == {TIMED_OUT: 1}
    assert timeline.requests == 254 and timeline.failures == {REFUSED: 1, SHED: 2, TIMED_OUT: 1}
    assert math.isclose(timeline.seconds[2].p99_ms, 50)  # the timed-out request is counted, not measured


def test_a_last_stretch_under_half_a_second_joins_the_second_before_it() -> None:
    outcomes = [_outcome(i / 100) for i in range(220)]
    timeline = timeline_of("t", outcomes, {"start": 0.0, "end": 2.2}, [], epoch_offset=EPOCH)
    assert [second.requests for second in timeline.seconds] == [100, 120]
    assert math.isclose(timeline.seconds[1].width, 1.2) and math.isclose(timeline.seconds[1].rate, 100)


def test_a_second_without_an_answer_has_no_latency() -> None:
    timeline = timeline_of("t", [_outcome(0.5), _outcome(2.5)], {"start": 0.0, "end": 3.0}, [], epoch_offset=EPOCH)
    assert [second.requests for second in timeline.seconds] == [1, 0, 1]
    assert math.isnan(timeline.seconds[1].p50_ms)


def test_events_in_the_loads_span_become_markers_on_its_clock() -> None:
    marks = {"start": 100.0, "change": 102.0, "rollback_called": 103.5, "changed": 106.0, "end": 108.0}
    offset = EPOCH - 100.0  # the load started at monotonic 100, wall clock EPOCH
    events = [
        {"t": EPOCH - 1, "event": "task_started"},  # before the load
        {"t": EPOCH + 2.25, "event": "task_started", "service": "partscat_django-green"},
        {"t": EPOCH + 3, "event": "canary_step", "share": 5},  # a name records.py may not know yet
        {"t": EPOCH + 8.5, "event": "switch"},  # after the load
    ]
    timeline = timeline_of("t", [_outcome(100.5)], marks, events, epoch_offset=offset)
    assert [(marker.at, marker.name, marker.from_log) for marker in timeline.markers] == [
        (2.25, "task_started", True),
        (3.0, "canary_step", True),
        (3.5, "rollback_called", False),
    ]
    assert timeline.markers[0].detail == "partscat_django-green"
    assert timeline.change == (2.0, 6.0) and timeline.duration == 8.0


def test_the_event_log_is_read_leaving_out_lines_that_are_not_events(tmp_path: Path) -> None:
    log = tmp_path / "stack-events.jsonl"
    good = {"at": "2026-12-06T05:58:18.303Z", "t": 1796536698.303, "event": "task_healthy", "stack": "partscat"}
    log.write_text(
        "\n".join([json.dumps(good), '{"t": 1796536699, "ev', "[1, 2]", json.dumps({"event": "switch"}), ""]),
        encoding="utf-8",
    )
    assert events_read(log) == [good]
    assert events_read(tmp_path / "missing.jsonl") == []


def test_the_event_log_is_where_the_control_plane_writes_it(tmp_path: Path) -> None:
    assert events_file(ROOT, {}) == ROOT / ".cache" / "stack-events.jsonl"
    assert events_file(ROOT, {"STACK_EVENTS_FILE": str(tmp_path / "e.jsonl")}) == tmp_path / "e.jsonl"
    assert events_file(ROOT, {"STACK_EVENTS_FILE": "logs/e.jsonl"}) == ROOT / "logs" / "e.jsonl"


def _busy_load(seconds: float, *, failures: bool) -> list[Outcome]:
    """About 300 requests a second through the usual traffic; a slow second and a few failures in the middle."""
    outcomes, moment, index = [], 0.0, 0
    while moment < seconds:
        call = TRAFFIC[index % len(TRAFFIC)]
        slow = 20 <= moment < 21
        latency = (0.012 + (index % 7) * 0.004) * (10 if slow else 1)
        status: int | None = call.expect
        error: str | None = None
        if failures and 15 <= moment < 25 and index % 150 == 0:
            status, error = [(None, "ConnectionRefusedError"), (502, None), (503, None), (None, "TimeoutError")][
                index // 150 % 4
            ]
        outcomes.append(Outcome(index % 8, KEEPALIVE, moment, moment + latency, call, status, "", error))
        moment += 1 / 300
        index += 1
    return outcomes


def test_a_timeline_is_a_png_of_some_substance(tmp_path: Path) -> None:
    marks = {"start": 0.0, "change": 10.0, "switched": 18.0, "changed": 30.0, "end": 40.0}
    events = [
        {"t": EPOCH + at, "event": name}
        for at, name in [
            (10.5, "command_started"),
            (11, "task_started"),
            (14, "task_healthy"),
            (14.2, "task_in_rotation"),
            (18, "switch"),
            (19, "task_out_of_rotation"),
            (22, "task_stopped"),
            (24, "canary_step"),
            (26, "something_new"),
            (29, "command_finished"),
        ]
    ]
    for failures in (True, False):
        timeline = timeline_of(
            "rolling update of django and fastapi (start-first)",
            _busy_load(40, failures=failures),
            marks,
            events,
            epoch_offset=EPOCH,
        )
        assert bool(timeline.failures) is failures
        path = tmp_path / f"failures-{failures}.png"
        timeline_draw(timeline, path)
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert 15_000 < len(data) < 250_000


def _scenario(name: str, *, start: float = 0.0) -> Scenario:
    outcomes = [_outcome(start + i / 50) for i in range(250)]
    marks = {"start": start, "change": start + 2, "changed": start + 4, "end": start + 5}
    return Scenario(
        name=name,
        before=Window("before", start, 2, outcomes[:100]),
        during=Window("during", start + 2, 2, outcomes[100:200]),
        zero_required=True,
        run=Window("whole load", start, 5, outcomes),
        marks=marks,
        epoch_offset=EPOCH,
    )


def test_timeline_files_are_named_after_their_scenarios_once_each() -> None:
    scenarios = [
        _scenario("scale fastapi 2 -> 4"),
        _scenario("cluster: Nginx updated node by node (prober on 127.0.0.1:18081)"),
        _scenario("scale fastapi 2 -> 4"),
        _scenario("Überprüfung — ü"),
    ]
    assert timeline_file_names(scenarios, "cluster") == [
        "cluster-scale-fastapi-2-4.png",
        "cluster-nginx-updated-node-by-node-prober-on-127-0-0-1-18081.png",
        "cluster-scale-fastapi-2-4-2.png",
        "cluster-uberprufung-u.png",
    ]


def test_the_report_links_each_row_to_its_timeline_beside_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "events.jsonl"
    log.write_text(json.dumps({"t": EPOCH + 3, "event": "task_in_rotation"}) + "\n", encoding="utf-8")
    monkeypatch.setenv("STACK_EVENTS_FILE", str(log))
    report = tmp_path / "bench-results" / "zero-downtime.md"
    folder = tmp_path / "bench-results" / "zero-downtime"
    folder.mkdir(parents=True)
    (folder / "swarm-a-scenario-since-renamed.png").write_bytes(b"old")
    (folder / "cluster-kept.png").write_bytes(b"the cluster suite's")
    scenarios = [_scenario("scale fastapi 2 -> 4"), _scenario("docker kill of a django task", start=50.0)]
    links = timelines_write(scenarios, report, prefix="swarm", repo_root=ROOT)
    assert links == [
        "zero-downtime/swarm-scale-fastapi-2-4.png",
        "zero-downtime/swarm-docker-kill-of-a-django-task.png",
    ]
    assert sorted(path.name for path in folder.iterdir()) == [
        "cluster-kept.png",
        "swarm-docker-kill-of-a-django-task.png",
        "swarm-scale-fastapi-2-4.png",
    ]
    assert (folder / "swarm-scale-fastapi-2-4.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = report_markdown(scenarios, ROOT, timelines=links)
    assert "| [scale fastapi 2 -> 4](zero-downtime/swarm-scale-fastapi-2-4.png) | 2.0 s |" in markdown
    assert "links its timeline" in markdown
    assert "| scale fastapi 2 -> 4 | 2.0 s |" in report_markdown(scenarios, ROOT)


def test_the_load_knows_its_clocks_offset_to_the_wall_clock() -> None:
    load = LoadGenerator("127.0.0.1", 9)
    assert abs(time.monotonic() + load.epoch_offset - time.time()) < 0.05
