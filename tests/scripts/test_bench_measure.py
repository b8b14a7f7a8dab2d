"""scripts/bench/measure.py without a stack: the wrk command of each point (wrk.lua itself runs in the real wrk
in test_bench.py)."""

from __future__ import annotations

from pathlib import Path

from scripts.bench.measure import Meter
from scripts.bench.plan import Plan
from scripts.bench.stack import Stack


def test_the_runner_asks_as_an_operator_where_only_an_operator_gets_what_it_measures(tmp_path: Path) -> None:
    token = "operator-token-0123456789abcdef"  # noqa: S105 (a made-up one)
    stack = Stack(
        base_url="http://127.0.0.1:8080", host="localhost", django_service="d", fastapi_service="f",
        nginx_service="n", postgres_service="p", stack_env={}, operator_token=token,
    )  # fmt: skip
    plan = Plan(
        parts=[10], runs=1, duration=1, warmup=0, connections=[8], threads=2, data_seed=1, workload_seeds=[1],
        distinct=10, restore_parts=10, restore_seed=1,
    )  # fmt: skip
    meter = Meter(stack=stack, plan=plan, out=tmp_path)
    meter.bodies_files = meter.long_tail_files = {1: tmp_path / "bodies.tsv"}
    operator = {
        (target, cache): "operator=1" in meter.wrk_command(target, cache, 8, 1)
        for target in ("django", "fastapi", "django-healthz", "fastapi-healthz", "nginx")
        for cache in ("bypass", "on")
        if cache == "on" or target in ("django", "fastapi")
    }
    assert operator == {
        ("django", "bypass"): True, ("fastapi", "bypass"): True, ("django", "on"): False, ("fastapi", "on"): False,
        ("django-healthz", "on"): True, ("fastapi-healthz", "on"): True, ("nginx", "on"): False,
    }  # fmt: skip
    # The token itself reaches wrk through its environment, never its command line (which raw/ records).
    assert all(token not in " ".join(meter.wrk_command(t, c, 8, 1)) for t, c in operator)
    assert stack.operator_env() == {"EDGE_OPERATOR_TOKEN": token}
