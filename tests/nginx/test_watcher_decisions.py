"""nginx/watcher_decisions.py, no I/O: which tasks are in rotation (one enters only once healthy, leaves at once
when draining, dead or gone from DNS, only after several timeouts in a row when slow; a DNS failure keeps the
peers), the peers body in numeric address order, and the state file's shape."""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

import pytest


def _state(watcher_decisions: ModuleType) -> Any:
    return watcher_decisions.ServiceState("tasks.django", 8000)


def _update(
    watcher_decisions: ModuleType, state: Any, addresses: set[str] | None, probes: Mapping[str, str]
) -> list[str]:
    return list(
        watcher_decisions.rotation_update(
            name="django", state=state, addresses=addresses, probes=probes, timeouts_to_drop=3
        )
    )


def test_a_task_enters_rotation_only_once_healthy(watcher_decisions: ModuleType) -> None:
    state = _state(watcher_decisions)
    _update(watcher_decisions, state, {"10.0.0.5"}, {"10.0.0.5": "unhealthy"})
    assert state.peers() == []
    changes = _update(watcher_decisions, state, {"10.0.0.5"}, {"10.0.0.5": "healthy"})
    assert state.peers() == ["10.0.0.5:8000"]
    assert changes == ["django: 10.0.0.5:8000 into rotation (probe: healthy)"]


@pytest.mark.parametrize("probe", ["unhealthy", "down"])
def test_a_draining_or_dead_task_leaves_at_once(watcher_decisions: ModuleType, probe: str) -> None:
    state = _state(watcher_decisions)
    _update(watcher_decisions, state, {"10.0.0.5", "10.0.0.6"}, {"10.0.0.5": "healthy", "10.0.0.6": "healthy"})
    _update(watcher_decisions, state, {"10.0.0.5", "10.0.0.6"}, {"10.0.0.5": probe, "10.0.0.6": "healthy"})
    assert state.peers() == ["10.0.0.6:8000"]


def test_a_slow_task_is_dropped_only_after_several_timeouts_in_a_row(watcher_decisions: ModuleType) -> None:
    state = _state(watcher_decisions)
    _update(watcher_decisions, state, {"10.0.0.5"}, {"10.0.0.5": "healthy"})
    for _ in range(2):
        _update(watcher_decisions, state, {"10.0.0.5"}, {"10.0.0.5": "timeout"})
        assert state.peers() == ["10.0.0.5:8000"]
    # A healthy answer resets the count.
    _update(watcher_decisions, state, {"10.0.0.5"}, {"10.0.0.5": "healthy"})
    for _ in range(2):
        _update(watcher_decisions, state, {"10.0.0.5"}, {"10.0.0.5": "timeout"})
    assert state.peers() == ["10.0.0.5:8000"]
    _update(watcher_decisions, state, {"10.0.0.5"}, {"10.0.0.5": "timeout"})
    assert state.peers() == []


def test_a_task_gone_from_dns_is_dropped_and_forgotten(watcher_decisions: ModuleType) -> None:
    state = _state(watcher_decisions)
    _update(watcher_decisions, state, {"10.0.0.5", "10.0.0.6"}, {"10.0.0.5": "healthy", "10.0.0.6": "healthy"})
    changes = _update(watcher_decisions, state, {"10.0.0.6"}, {"10.0.0.6": "healthy"})
    assert state.peers() == ["10.0.0.6:8000"]
    assert set(state.tasks) == {"10.0.0.6"}
    assert changes == ["django: 10.0.0.5:8000 left DNS; out of rotation"]


def test_a_dns_failure_keeps_the_current_peers(watcher_decisions: ModuleType) -> None:
    state = _state(watcher_decisions)
    _update(watcher_decisions, state, {"10.0.0.5"}, {"10.0.0.5": "healthy"})
    changes = _update(watcher_decisions, state, None, {})
    assert state.peers() == ["10.0.0.5:8000"]
    assert "DNS lookup of tasks.django failed" in changes[0]


def test_no_task_at_all_means_no_peers(watcher_decisions: ModuleType) -> None:
    state = _state(watcher_decisions)
    _update(watcher_decisions, state, {"10.0.0.5"}, {"10.0.0.5": "healthy"})
    _update(watcher_decisions, state, set(), {})
    assert state.peers() == []


def test_peers_are_in_numeric_address_order_and_rendered_one_line_per_service(watcher_decisions: ModuleType) -> None:
    django, fastapi = _state(watcher_decisions), watcher_decisions.ServiceState("tasks.fastapi", 8001)
    addresses = {"10.0.0.10", "10.0.0.9", "10.0.1.2"}
    _update(watcher_decisions, django, addresses, dict.fromkeys(addresses, "healthy"))
    assert django.peers() == ["10.0.0.9:8000", "10.0.0.10:8000", "10.0.1.2:8000"]
    body = watcher_decisions.peers_body({"fastapi": fastapi, "django": django})
    assert body == "django 10.0.0.9:8000 10.0.0.10:8000 10.0.1.2:8000\nfastapi \n"


def test_with_timeouts_to_drop_at_its_least_one_timeout_drops_a_task(watcher_decisions: ModuleType) -> None:
    # 1 is the least TIMEOUTS_TO_DROP gives (test_watcher_settings.py).
    state = watcher_decisions.ServiceState("tasks.django", 8000)
    watcher_decisions.rotation_update(
        name="django", state=state, addresses={"10.0.0.5"}, probes={"10.0.0.5": "healthy"}, timeouts_to_drop=1
    )
    watcher_decisions.rotation_update(
        name="django", state=state, addresses={"10.0.0.5"}, probes={"10.0.0.5": "timeout"}, timeouts_to_drop=1
    )
    assert state.peers() == []


def test_a_new_task_that_times_out_never_enters_and_a_missing_probe_counts_as_down(
    watcher_decisions: ModuleType,
) -> None:
    state = watcher_decisions.ServiceState("tasks.django", 8000)
    for _ in range(5):
        watcher_decisions.rotation_update(
            name="django", state=state, addresses={"10.0.0.5"}, probes={"10.0.0.5": "timeout"}, timeouts_to_drop=3
        )
    assert state.peers() == []
    watcher_decisions.rotation_update(
        name="django", state=state, addresses={"10.0.0.5"}, probes={"10.0.0.5": "healthy"}, timeouts_to_drop=3
    )
    changes = watcher_decisions.rotation_update(
        name="django", state=state, addresses={"10.0.0.5"}, probes={}, timeouts_to_drop=3
    )
    assert state.peers() == []
    assert changes == ["django: 10.0.0.5:8000 out of rotation (probe: down)"]


def test_the_state_snapshot_lists_peers_and_each_tasks_last_probe(watcher_decisions: ModuleType) -> None:
    state = watcher_decisions.ServiceState("tasks.django-blue", 8000)
    watcher_decisions.rotation_update(
        name="django-blue",
        state=state,
        addresses={"10.0.0.5", "10.0.0.6"},
        probes={"10.0.0.5": "healthy", "10.0.0.6": "unhealthy"},
        timeouts_to_drop=3,
    )
    assert watcher_decisions.state_snapshot({"django-blue": state}) == {
        "django-blue": {
            "dns_name": "tasks.django-blue",
            "in_rotation": ["10.0.0.5:8000"],
            "tasks": {"10.0.0.5": "healthy", "10.0.0.6": "unhealthy"},
        }
    }
