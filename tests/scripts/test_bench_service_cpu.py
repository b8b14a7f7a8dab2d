"""Who a point's CPU went to (scripts/bench/service_cpu.py): each service's cgroup read before and after, per
answer, and the summary's table of it."""

from __future__ import annotations

from pathlib import Path

from scripts.bench import results
from scripts.bench.results import Point
from scripts.bench.service_cpu import (
    cgroup_cpu_seconds,
    container_cpu_seconds,
    per_answer_ms,
    service_name,
)


def test_both_cgroup_versions_give_seconds() -> None:
    assert cgroup_cpu_seconds("cpuacct.usage", "2500000000\n") == 2.5
    stat = "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n"
    assert cgroup_cpu_seconds("cpu.stat", stat) == 1.5
    assert cgroup_cpu_seconds("cpu.stat", "user_usec 3\n") is None
    assert cgroup_cpu_seconds("cpuacct.usage", "") is None


def test_a_container_is_found_where_docker_puts_it_with_either_version(tmp_path: Path) -> None:
    layouts = {
        "a" * 64: ("cpuacct/docker/{id}", "cpuacct.usage", "3000000000"),
        "b" * 64: ("system.slice/docker-{id}.scope", "cpu.stat", "usage_usec 2000000"),
        "c" * 64: ("docker/{id}", "cpu.stat", "usage_usec 1000000"),
    }
    for container, (place, name, text) in layouts.items():
        folder = tmp_path / place.format(id=container)
        folder.mkdir(parents=True)
        (folder / name).write_text(text)
    assert [container_cpu_seconds(container, tmp_path) for container in layouts] == [3.0, 2.0, 1.0]
    assert container_cpu_seconds("d" * 64, tmp_path) is None


def test_cpu_per_answer_between_two_readings() -> None:
    before = {"postgres": 10.0, "fastapi-blue": 4.0, "nginx": 1.0}
    after = {"postgres": 12.5, "fastapi-blue": 5.0, "nginx": 1.25, "celery-worker": 0.5}
    # A service missing from the first reading (a task started meanwhile) is left out, not counted from zero.
    assert per_answer_ms(before, after, 1000) == {"fastapi-blue": 1.0, "nginx": 0.25, "postgres": 2.5}
    assert per_answer_ms(before, after, 0) == {}
    assert service_name("partscat_fastapi-blue") == "fastapi-blue" and service_name("wrk") == "wrk"


def _point(run: int, cpu: dict[str, float]) -> Point:
    return Point(
        size=10_000,
        target="fastapi",
        cache="bypass",
        connections=32,
        run=run,
        ok_rps=100,
        requests=1000,
        service_cpu_ms=cpu,
    )


def test_the_summary_says_who_the_cpu_went_to_and_old_runs_load_without_it() -> None:
    points = [
        _point(1, {"postgres": 2.0, "fastapi-blue": 1.0, "nginx": 0.5, "redis": 0.01}),
        _point(2, {"postgres": 3.0, "fastapi-blue": 1.2, "nginx": 0.4, "redis": 0.01}),
        _point(3, {"postgres": 2.5, "fastapi-blue": 1.1, "nginx": 0.6, "redis": 0.01}),
    ]
    lines = results.service_cpu_table(results.medians(points), 10_000, [32])
    assert "| target, connections | postgres | fastapi-blue | nginx | others | all |" in lines
    assert "| FastAPI search, bypassed, 32 | 2.50 | 1.10 | 0.50 | 0.01 | 4.11 |" in lines
    old = Point.from_dict({key: value for key, value in points[0].to_dict().items() if key != "service_cpu_ms"})
    assert old.service_cpu_ms == {} and results.service_cpu_table(results.medians([old]), 10_000, [32]) == []
