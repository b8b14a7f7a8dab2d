"""The bench's decision chart (scripts/bench/results.py's decision_bars, plots.py's plot_decision) and its place at
the top of the index, from synthetic points: no stack."""

from __future__ import annotations

import json
from pathlib import Path

from scripts.bench import results
from scripts.bench.results import DecisionBar, Point


def _points(connections: tuple[int, ...] = (8, 32, 128)) -> list[Point]:
    points = []
    for size, slower in ((10_000, 1.0), (1_000_000, 0.5)):
        for count in connections:
            for run, drift in ((1, 1.0), (2, 0.9), (3, 1.1)):
                figures = {
                    ("django", "bypass"): 300 * slower,
                    ("django", "on"): 900,
                    ("django-healthz", "-"): 1500,
                    ("fastapi", "bypass"): 600 * slower,
                    ("fastapi", "on"): 1500,
                    ("fastapi-healthz", "-"): 2000,
                    ("nginx", "-"): 50_000,
                }
                for (target, cache), rps in figures.items():
                    points.append(Point(size, target, cache, count, run, ok_rps=rps * drift + count))
    return points


def test_the_decision_is_taken_at_32_connections_or_the_nearest_measured() -> None:
    assert results.decision_connections(_points()) == 32
    assert results.decision_connections(_points((8, 128))) == 8
    assert results.decision_connections(_points((16, 48))) == 16  # as near: the smaller
    assert results.decision_connections([]) is None


def test_each_search_stands_beside_its_own_healthz_with_its_share() -> None:
    bars = results.decision_bars(_points(), [10_000, 1_000_000], 32)
    assert [(bar.size, bar.target, bar.cache) for bar in bars[:6]] == [
        (10_000, "django", "bypass"),
        (10_000, "django", "on"),
        (10_000, "django-healthz", "-"),
        (10_000, "fastapi", "bypass"),
        (10_000, "fastapi", "on"),
        (10_000, "fastapi-healthz", "-"),
    ]
    assert len(bars) == 12 and {bar.runs for bar in bars} == {3}
    # Medians of the runs (the run at drift 1.0), and the share of the same service's /healthz.
    django = bars[0]
    assert django == DecisionBar(10_000, "django", "django", "bypass", 332.0, 3, 332.0 / 1532.0)
    assert bars[9].ok_rps == 332.0 and bars[9].healthz_share == 332.0 / 2032.0  # FastAPI at 1M, bypassed
    assert bars[2].healthz_share is None
    # A point that was not measured is left out, and a search without its /healthz has no share.
    partial = [point for point in _points() if point.target != "fastapi-healthz"]
    bars = results.decision_bars(partial, [10_000], 32)
    assert [bar.target for bar in bars] == ["django", "django", "django-healthz", "fastapi", "fastapi"]
    assert bars[3].healthz_share is None


def test_the_decision_chart_is_a_small_png(tmp_path: Path) -> None:
    from scripts.bench.plots import plot_decision  # noqa: PLC0415 (matplotlib is the bench's own requirement)

    path = tmp_path / "decision.png"
    assert plot_decision(_points(), [10_000, 1_000_000], path, run="2026-11-25-abcdef0")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert 8_000 < len(data) < 80_000
    assert not plot_decision(_points(), [5], tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()


def test_the_index_opens_with_the_latest_runs_decision_chart(tmp_path: Path) -> None:
    summary = results.summary_markdown(
        _points(),
        title="Benchmark",
        preamble="Preamble.",
        sizes=[10_000],
        visible={},
        plots={},
        notes=[],
        decision="decision.png",
    )
    assert summary.index("](decision.png)") < summary.index(results.TABLES_BEGIN)
    for name, started in (
        ("2026-11-20-1234567", "2026-11-20 10:00:00 UTC"),
        ("2026-11-24-abcdef0", "2026-11-24 09:00"),
    ):
        run = tmp_path / name
        run.mkdir()
        (run / "summary.md").write_text(summary)
        (run / "results.json").write_text(json.dumps({"meta": {"started": started, "parts": [10_000]}, "points": []}))
        (run / "decision.png").write_bytes(b"png")
    index = results.index_markdown(tmp_path)
    assert index.index("](2026-11-24-abcdef0/decision.png)") < index.index("## Runs")
    assert "2026-11-20-1234567/decision.png" not in index
    (tmp_path / "2026-11-24-abcdef0" / "decision.png").unlink()
    assert "decision.png)" not in results.index_markdown(tmp_path).split("## Runs")[0]
