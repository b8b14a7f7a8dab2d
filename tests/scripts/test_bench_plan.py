"""scripts/bench/plan.py: the points of a run and its dry run, without a stack."""

from __future__ import annotations

from scripts.bench.plan import Plan, plan_lines


def test_each_round_takes_the_next_workload_seed_and_each_profile_is_seeded_by_name() -> None:
    plan = Plan(
        parts=[10_000, 1_000_000], runs=4, duration=1, warmup=0, connections=[8, 32], threads=2, data_seed=1,
        workload_seeds=[1, 2, 3], distinct=10, restore_parts=10_000, restore_seed=1, profiles=["task", "realistic"],
    )  # fmt: skip
    assert [plan.workload_seed(run) for run in (1, 2, 3, 4)] == [1, 2, 3, 1]
    assert plan.cache_modes() == ("bypass", "on", "long-tail")
    # 2 searches x 3 cache modes + 4 ceilings, 2 connection counts, 4 runs; 2 sizes, 2 profiles.
    assert plan.points_per_size() == 10 * 2 * 4 and plan.total_points() == 80 * 4
    lines = plan_lines(plan)
    assert "  scripts/seed.sh --clear --parts 1000000 --seed 1 --profile realistic" in lines
    assert "  scripts/seed.sh --clear --parts 10000 --seed 1" in lines  # the task profile is seed.sh's default
    assert any("run 4 (workload seed 1)" in line and "on, long tail" in line for line in lines)
    plan.long_tail = 0
    assert plan.cache_modes() == ("bypass", "on")
