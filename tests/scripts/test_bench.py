"""`make bench`'s parts (scripts/bench/) without a stack: workload, wrk's script and output, pgbench's script, summary.

The wrk script runs in the real wrk against a small server on loopback. The recorder runs the FastAPI
service's own search on the fast suite's catalog; the pgbench script made from it runs in the real pgbench,
and its SQL answers what the running FastAPI service answers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from fastapi_search import queries
from scripts.bench import results
from scripts.bench.edge_times import edge_times
from scripts.bench.pgbench_script import (
    parameter_literal,
    pgbench_script,
    search_statements,
    sql_literal,
    statement_render,
)
from scripts.bench.results import Point
from scripts.bench.workload import (
    DEEP_PAGES,
    LONG_TAIL_DISTINCT,
    LONG_TAIL_EXPONENT,
    MAX_BODY_SHARE,
    SEED_MAX_COUNT,
    UNKNOWN_COLORS,
    UNKNOWN_COUNTRIES,
    UNKNOWN_MARKS,
    UNKNOWN_PART_WORDS,
    WorkloadBody,
    bodies_read,
    bodies_write,
    vocabulary_load,
    workload_generate,
    workload_shape,
)
from search_contract import parse_search_request
from service_common.totals import PriceSplit
from tests.servers import ROOT, Postgres, pg_bin, service_env

WRK_LUA = ROOT / "scripts" / "bench" / "wrk.lua"
RECORDER = ROOT / "scripts" / "bench" / "recorder.py"


@pytest.fixture(scope="module")
def bodies() -> list[WorkloadBody]:
    return workload_generate(seed=1)


# The workload.


def test_the_vocabulary_is_the_seeds_own_for_each_profile() -> None:
    vocabulary = vocabulary_load()
    assert ("Honda", "Япония") in vocabulary.marks and ("Accord", vocabulary.marks.index(("Honda", "Япония"))) in (
        vocabulary.models
    )
    assert len(vocabulary.marks) == len(vocabulary.models) == 5
    assert "Бампер передний" in vocabulary.part_names and len(vocabulary.part_names) >= 5
    assert "черный" in vocabulary.colors
    assert vocabulary.max_price == 100_000
    realistic = vocabulary_load("realistic")
    assert len(realistic.marks) >= 50 and len(realistic.models) == 2000 and len(realistic.part_names) == 5000


def test_an_unknown_profile_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown data profile 'huge'"):
        vocabulary_load("huge")
    # The module is loaded by its path, without Django: a stand-in with the same API is read the same way.
    source = tmp_path / "profiles.py"
    source.write_text(
        "from dataclasses import dataclass\n"
        'PROFILES = ("tiny",)\n'
        "@dataclass(frozen=True)\n"
        "class Vocabulary:\n"
        "    marks: tuple\n    models: tuple\n    part_names: tuple\n    colors: tuple\n    max_price: int\n"
        "def vocabulary(profile):\n"
        '    return Vocabulary((("A", "B"),), (("M", 0),), ("Фара",), ("x",), 10)\n'
    )
    assert vocabulary_load("tiny", path=source).models == (("M", 0),)
    with pytest.raises(ValueError, match="has tiny"):
        vocabulary_load("task", path=source)


def test_at_least_1000_distinct_bodies_that_the_contract_accepts(bodies: list[WorkloadBody]) -> None:
    assert len(bodies) >= 1000
    assert len({json.dumps(json.loads(item.body), sort_keys=True) for item in bodies}) == len(bodies)
    for item in bodies:
        parse_search_request(item.body.encode("utf-8"))  # raises ContractError on a bad body
        assert item.weight >= 1


def test_the_same_seed_gives_the_same_workload_and_another_seed_another(bodies: list[WorkloadBody]) -> None:
    assert workload_generate(seed=1) == bodies
    assert workload_generate(seed=2) != bodies
    assert len(workload_generate(seed=3, distinct=1500)) == 1500


def test_popularity_is_skewed_but_no_body_carries_more_than_its_cap(bodies: list[WorkloadBody]) -> None:
    shape = workload_shape(bodies)
    weights = sorted((item.weight for item in bodies), reverse=True)
    # A few bodies carry much of the traffic; the median body is rare; none above the cap (the earlier mix's
    # top body was 10 % of all requests, which flattered the response cache).
    assert 0.015 < shape.top1_share <= MAX_BODY_SHARE * 1.001  # weights are rounded to integers
    assert shape.top10_share > 0.15
    assert weights[0] > 50 * weights[len(weights) // 2]
    assert bodies[0].weight == weights[0]  # most popular first (pgbench's \elif chain relies on it)
    assert shape.traffic_by_kind["selective"] == pytest.approx(0.72, abs=0.01)
    assert shape.traffic_by_kind["broad"] == pytest.approx(0.20, abs=0.01)
    assert shape.traffic_by_kind["deep"] == pytest.approx(0.03, abs=0.01)
    assert shape.traffic_by_kind["nothing"] == pytest.approx(0.05, abs=0.01)


def test_price_bounds_are_any_integer_not_round_numbers(bodies: list[WorkloadBody]) -> None:
    bounds = [json.loads(item.body)[key] for item in bodies for key in ("price_gte", "price_lte") if key in item.body]
    assert len(bounds) > 100
    assert sum(1 for bound in bounds if bound % 100 == 0) < 0.05 * len(bounds)
    assert all(isinstance(bound, int) and bound >= 0 for bound in bounds)


def test_the_long_tail_has_50000_distinct_bodies_and_a_flat_head() -> None:
    tail = workload_generate(seed=1, distinct=LONG_TAIL_DISTINCT, exponent=LONG_TAIL_EXPONENT)
    shape = workload_shape(tail)
    assert shape.distinct == len({item.body for item in tail}) >= 50_000
    assert shape.top1_share < 0.01 and shape.top100_share < 0.15


@pytest.mark.parametrize("profile", ["task", "realistic"])
def test_each_kind_looks_like_its_traffic(profile: str) -> None:
    vocabulary = vocabulary_load(profile)
    bodies = workload_generate(seed=1, vocabulary=vocabulary)
    assert workload_generate(seed=1, vocabulary=vocabulary) == bodies
    marks = {mark.lower() for mark, _country in vocabulary.marks}
    pairs = {(vocabulary.marks[mark][0].lower(), model.lower()) for model, mark in vocabulary.models}
    for item in bodies:
        parse_search_request(item.body.encode("utf-8"))
        body = json.loads(item.body)
        params = body.get("params", {})
        if item.kind == "selective":
            assert {"mark_name", "model_name", "mark_list", "model_list"} & body.keys()
            assert len(body.keys() - {"page"}) >= 2
            assert body.get("page", 1) <= 5
        elif item.kind == "broad":
            # One filter: a mark, a country (perhaps with is_new_part), a colour, a name or a price range.
            assert len(body.keys() - {"page", "price_gte", "price_lte", "params"}) <= 1
            assert not ({"mark_name", "model_name", "mark_list", "model_list"} & body.keys() and "part_name" in body)
            assert body.get("page", 1) <= 5
        elif item.kind == "deep":
            assert DEEP_PAGES[0] <= body["page"] <= DEEP_PAGES[1]
        else:
            unknown = (
                body.get("mark_name") in UNKNOWN_MARKS
                or body.get("producer_country_name") in UNKNOWN_COUNTRIES
                or body.get("part_name") in UNKNOWN_PART_WORDS
                or params.get("color") in UNKNOWN_COLORS
                or body.get("price_gte", 0) > vocabulary.max_price
                or params.get("count", 0) > SEED_MAX_COUNT
                or (
                    body.get("mark_name", "").lower() in marks
                    and (body["mark_name"].lower(), body.get("model_name", "").lower()) not in pairs
                )
            )
            assert unknown, item.body


def test_the_bodies_file_reads_back_as_written(tmp_path: Path, bodies: list[WorkloadBody]) -> None:
    path = tmp_path / "bodies.tsv"
    digest = bodies_write(path, bodies)
    assert bodies_read(path) == bodies
    assert bodies_write(tmp_path / "again.tsv", workload_generate(seed=1)) == digest


# wrk's script, in the real wrk.


# What the recording server saw of each request: method, body, Cache-Control, Host, X-Edge-Operator-Token.
Seen = tuple[str, str, str | None, str | None, str | None]


class _RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Nginx answers
    seen: list[Seen]
    lock = threading.Lock()

    def _answer(self, body: str) -> None:
        with self.lock:
            headers = self.headers
            operator = headers.get("X-Edge-Operator-Token")
            self.seen.append((self.command, body, headers.get("Cache-Control"), headers.get("Host"), operator))
        status = 503 if body == '{"part_name":"rare"}' else 200
        payload = b'{"status":"ok"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Cache", "MISS" if self.headers.get("Cache-Control") else "HIT")
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        self._answer(self.rfile.read(int(self.headers["Content-Length"])).decode())

    def do_GET(self) -> None:
        self._answer("")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recording_server() -> Iterator[tuple[str, list[Seen]]]:
    seen: list[Seen] = []
    handler = type("Handler", (_RecordingHandler,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _wrk(url: str, *args: str, env: dict[str, str] | None = None, check: bool = True) -> results.Measured:
    wrk = shutil.which("wrk")
    assert wrk, "wrk is missing: scripts/system-packages.sh installs it"
    environ = {key: value for key, value in os.environ.items() if key != "EDGE_OPERATOR_TOKEN"}
    done = subprocess.run(
        [wrk, "-t2", "-c4", "-d1s", "--timeout", "5s", "-s", str(WRK_LUA), url, "--", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
        env={**environ, **(env or {})},
    )
    if not check and done.returncode != 0:
        raise RuntimeError(done.stderr)
    return results.wrk_parse(done.stdout)


def test_wrk_draws_bodies_by_weight_and_counts_statuses_and_cache_answers(
    tmp_path: Path, recording_server: tuple[str, list[Seen]]
) -> None:
    url, seen = recording_server
    bodies_file = tmp_path / "bodies.tsv"
    weights = {'{"mark_name":"Honda"}': 90, '{"part_name":"бамп"}': 9, '{"part_name":"rare"}': 1}
    bodies_write(bodies_file, [WorkloadBody(kind="k", body=body, weight=w) for body, w in weights.items()])

    arguments = ("mode=search", f"bodies={bodies_file}", "seed=1", "cache=bypass", "host=bench.example")
    measured = _wrk(url + "/search/part/", *arguments)

    sent = Counter(body for _method, body, _cache, _host, _operator in seen)
    assert set(sent) == set(weights)
    assert sent['{"mark_name":"Honda"}'] > 5 * sent['{"part_name":"бамп"}'] > 0
    assert sent['{"part_name":"бамп"}'] > sent['{"part_name":"rare"}'] > 0
    assert {(method, cache, host, operator) for method, _body, cache, host, operator in seen} == {
        ("POST", "no-cache", "bench.example", None)
    }
    # Every answer wrk counted is one the server sent; the last few may still have been on the way.
    answered = measured.statuses.get("200", 0) + measured.statuses.get("503", 0)
    assert answered == measured.requests
    assert measured.requests <= len(seen) <= measured.requests + 4
    assert measured.errors == measured.statuses["503"] > 0
    assert measured.ok_rps < measured.rps
    assert measured.x_cache == {"MISS": measured.requests}
    assert 0 < measured.p50_ms <= measured.p90_ms <= measured.p99_ms


def test_wrk_sends_the_operator_token_from_the_environment_only_when_asked(
    recording_server: tuple[str, list[Seen]],
) -> None:
    url, seen = recording_server
    token = "operator-token-0123456789abcdef"  # noqa: S105 (a made-up one)
    get = ("mode=get", "seed=1", "cache=on", "host=localhost")
    _wrk(url + "/healthz", *get, "operator=1", env={"EDGE_OPERATOR_TOKEN": token})
    assert {operator for *_rest, operator in seen} == {token}
    seen.clear()
    _wrk(url + "/healthz", *get)
    assert {operator for *_rest, operator in seen} == {None}
    # Asked for without a token in the environment: wrk stops at once rather than measure the public's answers.
    seen.clear()
    with pytest.raises(RuntimeError, match="EDGE_OPERATOR_TOKEN"):
        _wrk(url + "/healthz", *get, "operator=1", check=False)
    assert seen == []


def test_wrk_get_mode_sends_one_request_with_the_cache_on(
    recording_server: tuple[str, list[Seen]],
) -> None:
    url, seen = recording_server
    measured = _wrk(url + "/healthz", "mode=get", "seed=1", "cache=on", "host=localhost")
    assert set(seen) == {("GET", "", None, "localhost", None)}
    assert measured.statuses == {"200": measured.requests} and measured.errors == 0
    assert measured.x_cache == {"HIT": measured.requests}


# wrk's and pgbench's output, CPU, medians, the summary.

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8080/search/part/
  2 threads and 32 connections
  1200 requests in 10.00s, 1.00MB read
Requests/sec:    120.00
BENCH_RESULT {"duration_us":10000000,"requests":1200,"bytes":1048576,"latency_us":{"p50":2500,"p90":9000,\
"p99":45100,"max":90000,"mean":3000.5},"statuses":{"200":1000,"503":190,"404":10},"x_cache":{"HIT":600,"MISS":600},\
"socket_errors":{"connect":0,"read":2,"write":0,"timeout":3}}
"""

PGBENCH_OUTPUT = """pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: -
query mode: simple
number of clients: 8
number of threads: 2
duration: 10 s
number of transactions actually processed: 7590
number of failed transactions: 10 (0.132%)
latency average = 10.543 ms
initial connection time = 17.148 ms
tps = 758.790695 (without initial connection time)
"""


def test_wrk_output_gives_served_rate_errors_and_percentiles() -> None:
    measured = results.wrk_parse(WRK_OUTPUT)
    assert measured.ok_rps == 100.0  # 2xx only
    assert measured.rps == 120.0
    assert (measured.p50_ms, measured.p90_ms, measured.p99_ms) == (2.5, 9.0, 45.1)
    assert measured.errors == 190 + 10 + 2 + 3
    assert measured.x_cache == {"HIT": 600, "MISS": 600}
    with pytest.raises(ValueError, match="BENCH_RESULT"):
        results.wrk_parse("Running 10s test\n")


def test_pgbench_output_and_log_give_tps_failures_and_percentiles() -> None:
    log = "0 1 7031 0 1795560710 349558\n1 1 7260 0 1795560710 349919\n1 2 failed 0 1795560710 351917\n"
    log += "".join(f"0 {n} {n * 100} 0 1795560711 0\n" for n in range(3, 103))
    latencies = results.pgbench_log_latencies_us(log)
    assert len(latencies) == 102  # the failed one is left out
    measured = results.pgbench_parse(PGBENCH_OUTPUT, latencies)
    assert measured.ok_rps == pytest.approx(758.790695)
    assert (measured.requests, measured.errors) == (7600, 10)
    assert measured.p50_ms == pytest.approx(5.3)  # nearest rank: the 51st of 102
    assert measured.p99_ms == pytest.approx(10.1)  # the 101st
    assert results.percentile([5, 1, 3], 50) == 3
    with pytest.raises(ValueError):
        results.pgbench_parse("pgbench: fatal: connection failed\n", [])


def test_cpu_use_per_core_from_proc_stat() -> None:
    before = results.cpu_sample_parse(
        "cpu  10 0 10 80 0 0 0 0 0 0\ncpu0 5 0 5 40 0 0 0 0 0 0\ncpu1 5 0 5 40 0 0 0 0 0 0\nintr 1\n"
    )
    after = results.cpu_sample_parse(
        "cpu  10 0 10 80 0 0 0 0 0 0\ncpu0 95 0 5 50 0 0 0 0 0 0\ncpu1 10 0 5 130 5 0 0 0 0 0\nintr 1\n"
    )
    assert results.cpu_busy_percent(before, after) == [90.0, 5.0]


def _point(target: str, cache: str, run: int, ok_rps: float, p99_ms: float, *, connections: int = 8) -> Point:
    return Point(
        size=10_000,
        target=target,
        cache=cache,
        connections=connections,
        run=run,
        clients=connections if target != "pgbench" else min(connections, 60),
        ok_rps=ok_rps,
        rps=ok_rps,
        p99_ms=p99_ms,
        requests=int(ok_rps * 10),
        cpu_busy=[90.0, 80.0],
    )


def _run_points() -> list[Point]:
    points = []
    for run, drift in ((1, 1.0), (2, 0.5), (3, 1.1)):  # run 2 ran on a busy machine
        points += [
            _point("django", "bypass", run, 200 * drift, 50),
            _point("fastapi", "bypass", run, 400 * drift, 25),
            _point("django", "on", run, 800 * drift, 10),
            _point("fastapi", "on", run, 1000 * drift, 8),
            _point("nginx", "-", run, 40_000 * drift, 2),
            _point("django-healthz", "-", run, 1000 * drift, 20),
            _point("fastapi-healthz", "-", run, 2000 * drift, 10),
            _point("pgbench", "-", run, 800 * drift, 30),
            _point("pgbench", "-", run, 300 * drift, 90, connections=128),
        ]
    points[0].x_cache = {"MISS": 2000}
    for point in points:
        point.workload_seed = point.run + 10
        if (point.target, point.cache) == ("django", "on"):  # run 2 crossed the cache's TTL
            point.x_cache = {"HIT": 96, "MISS": 4} if point.run != 2 else {"HIT": 40, "MISS": 60}
    return points


def test_medians_fractions_and_same_run_ratios() -> None:
    points = _run_points()
    table = results.medians(points)
    django = table[(10_000, "django", "bypass", 8)]
    assert django.ok_rps == 200 and django.runs == 3 and django.cpu_busy == [90.0, 80.0]
    assert django.x_cache_hit_share == 0.0
    assert table[(10_000, "fastapi", "bypass", 8)].x_cache_hit_share is None
    assert results.fraction(django, table[(10_000, "django-healthz", "-", 8)]) == "20 %"
    assert results.fraction(django, table[(10_000, "nginx", "-", 8)]) == "0.50 %"
    # Paired within each run, drift cancels: Django is half of FastAPI in every run.
    assert results.paired_ratios(points, 10_000, "bypass", 8) == (0.5, 2.0)


def test_the_summary_has_a_table_per_size_and_the_index_repeats_the_latest(tmp_path: Path) -> None:
    points = _run_points()
    failed = _point("django", "on", 4, 0, 0)
    failed.failed, failed.raw = "wrk exited 1: unable to connect", "raw/10000/099-django-on-c8-run4.txt"
    summary = results.summary_markdown(
        [*points, failed],
        title="Benchmark 2026-11-24-abcdef0",
        preamble="Preamble.",
        sizes=[10_000],
        visible={("task", 10_000): 8_980},
        plots={("task", 10_000): "plot-10000.png"},
        notes=["A note."],
    )
    assert "### 10 000 parts (8 980 visible)" in summary
    assert (
        "| Django search | bypassed | 8 | 200 | 100-220 | 50.0 | 0 | 20 % | 0.50 % | 25 % | 0.00 % | 90 / 80 |"
        in summary
    )
    # Every run beside the median, with its workload seed and, cache on, its own hit share: the bad run shows.
    assert "| target | cache | connections | run 1 (workload seed 11) | run 2 (workload seed 12) |" in summary
    assert (
        "| Django search | on | 8 | 800 rps, p99 10.0, HIT 96 % | 400 rps, p99 10.0, HIT 40 % "
        "| 880 rps, p99 10.0, HIT 96 % |"
    ) in summary
    assert "| Django search | bypassed | 8 | 200 rps, p99 50.0 | 100 rps, p99 50.0 | 220 rps, p99 50.0 |" in summary
    # What the Nginx fixed answer measures is said beside the column that divides by it.
    assert "of Nginx fixed (wrk-bound)" in summary and results.NGINX_FIXED_CAVEAT in summary
    assert "| bypassed | 8 | 0.50 | 2.00 |" in summary
    assert "| pgbench, FastAPI's SQL | 128 (60 used) | 300 | 150-330 | 90.0 | 0 | 90 / 80 |" in summary
    assert "![throughput and p99 against connections, 10000 parts](plot-10000.png)" in summary
    assert "`raw/10000/099-django-on-c8-run4.txt`: wrk exited 1: unable to connect" in summary

    results_dir = tmp_path / "bench-results"
    for name, started in (("2026-11-20-1234567", "2026-11-20 10:00:00 UTC"), ("2026-11-24-abcdef0", None)):
        run = results_dir / name
        run.mkdir(parents=True)
        (run / "summary.md").write_text(summary.replace("plot-10000.png", f"plot-{name}.png"))
        meta = {"started": started or "2026-11-24 09:00:00 UTC", "parts": [10_000, 1_000_000]}
        (run / "results.json").write_text(json.dumps({"meta": meta, "points": []}))
    (results_dir / "explain-1m").mkdir()
    (results_dir / "explain-1m" / "README.md").write_text("# Query plans at 1M parts\n")
    (results_dir / "zero-downtime.md").write_text("# Zero-downtime report\n")
    index = results.index_markdown(results_dir)
    assert "| 2026-11-24-abcdef0 | 2026-11-24 09:00:00 UTC | 10 000, 1 000 000 |" in index
    assert index.index("2026-11-24-abcdef0 |") < index.index("2026-11-20-1234567 |")  # newest first
    assert "- [explain-1m/](explain-1m/): Query plans at 1M parts" in index
    assert "- [zero-downtime.md](zero-downtime.md): Zero-downtime report" in index
    assert "## Latest run: 2026-11-24-abcdef0" in index
    assert "](2026-11-24-abcdef0/plot-2026-11-24-abcdef0.png)" in index
    assert "## Notes" not in index
    assert "## What the figures rest on" in index and "same-run A/B" in index


def test_only_the_newest_runs_keep_their_raw_output(tmp_path: Path) -> None:
    starts = {"2026-11-20-1234567": "10:00", "2026-11-22-89abcde": "11:00", "2026-11-24-abcdef0": "12:00"}
    for name, started in starts.items():
        (tmp_path / name / "raw").mkdir(parents=True)
        (tmp_path / name / "raw" / "001-django-bypass-c32-run1.txt").write_text("wrk output\n")
        (tmp_path / name / "summary.md").write_text("# Benchmark\n")
        meta = {"started": f"2026-11-24 {started}:00 UTC", "parts": [10_000]}
        (tmp_path / name / "results.json").write_text(json.dumps({"meta": meta, "points": []}))
    (tmp_path / "zero-downtime" / "raw").mkdir(parents=True)  # not a run: never pruned

    assert results.prune_raw(tmp_path, keep=2) == [tmp_path / "2026-11-20-1234567" / "raw"]
    assert not (tmp_path / "2026-11-20-1234567" / "raw").exists()
    assert (tmp_path / "2026-11-20-1234567" / "results.json").is_file()
    assert (tmp_path / "2026-11-22-89abcde" / "raw").is_dir() and (tmp_path / "zero-downtime" / "raw").is_dir()
    index = results.index_markdown(tmp_path)
    assert "| [raw/](2026-11-24-abcdef0/raw/) |" in index
    assert "[env.md](2026-11-20-1234567/env.md) | in git history |" in index
    assert results.prune_raw(tmp_path, keep=2) == []


def test_figures_are_rounded_for_reading() -> None:
    assert [results.number(v) for v in (37_213.0, 1_234.0, 812.4, 45.12, 0.8412)] == [
        "37 200",
        "1 230",
        "812",
        "45.1",
        "0.84",
    ]
    assert [results.share(v) for v in (0.643, 0.075, 0.0083)] == ["64 %", "7.5 %", "0.83 %"]


def test_a_plot_per_size_is_a_small_png(tmp_path: Path) -> None:
    from scripts.bench.plots import plot_size  # noqa: PLC0415 (matplotlib is the bench's own requirement)

    path = tmp_path / "plot.png"
    assert plot_size(_run_points(), 10_000, path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) < 80_000
    assert not plot_size(_run_points(), 1_000_000, tmp_path / "none.png")


def test_each_profile_has_its_own_tables_and_the_task_profile_keeps_its_headings() -> None:
    points = _run_points()
    realistic = _run_points()
    for point in realistic:
        point.profile, point.ok_rps = "realistic", point.ok_rps / 2
    summary = results.summary_markdown(
        [*points, *realistic],
        title="Benchmark",
        preamble="Preamble.",
        sizes=[10_000],
        visible={("task", 10_000): 8_980, ("realistic", 10_000): 9_500},
        plots={},
        notes=[],
        profiles=["task", "realistic"],
    )
    assert summary.index("### 10 000 parts (8 980 visible)") < summary.index(
        "### 10 000 parts, realistic profile (9 500 visible)"
    )
    assert "| Django search | bypassed | 8 | 100 | 50.0-110 |" in summary
    assert results.medians(realistic, "realistic")[(10_000, "django", "bypass", 8)].ok_rps == 100
    assert results.medians(realistic) == {}


# pgbench's script.

NASTY = [
    "O'Reilly",
    "a:draw b :scale ::text",
    "back\\slash \\if \\set",
    "line\nbreak; SELECT 1/0;",
    "tab\tand 'quotes' \"double\"",
    "$1 $$dollar$$ --comment /* c */",
    "Бампер ёж Ё 😀 e\u0301",
    "%_\\%",
    "",
]


def test_literals_are_written_with_safe_characters_only() -> None:
    assert sql_literal("Бампер передний") == "'Бампер передний'"
    assert sql_literal("O'Reilly: a\\b") == "U&'O\\0027Reilly\\003A a\\005Cb'"
    assert sql_literal("😀") == "U&'\\+01F600'"
    for text in NASTY:
        literal = sql_literal(text)
        inner = literal.removeprefix("U&")[1:-1]
        assert not set(inner) & set("'\n\r\t:;\"$"), literal
    with pytest.raises(ValueError, match="NUL"):
        sql_literal("a\x00b")


def test_parameters_are_written_for_their_cast() -> None:
    assert parameter_literal(None, "text") == "NULL"
    assert parameter_literal(True, "jsonb") == "'true'"
    assert parameter_literal(5, "jsonb") == "'5'"
    assert parameter_literal((1, 20), "bigint[]") == "ARRAY[1,20]"
    assert parameter_literal([], "bigint[]") == "ARRAY[]"
    assert parameter_literal(["Фара левая", "O'Reilly"], "text[]") == "ARRAY['Фара левая',U&'O\\0027Reilly']"
    assert parameter_literal(40, "integer") == "40"
    assert parameter_literal(False, "boolean") == "false"
    wrong = (
        (True, "integer"),
        ("5", "integer"),
        (1, "boolean"),
        ("true", "boolean"),
        (5, "text"),
        ((True,), "bigint[]"),
        ("ab", "text[]"),
    )
    for value, sql_type in wrong:
        with pytest.raises(TypeError):
            parameter_literal(value, sql_type)
    with pytest.raises(ValueError, match="no literal form"):
        parameter_literal(1, "numeric")


def test_statements_keep_their_casts_and_refuse_what_pgbench_would_misread() -> None:
    assert statement_render("SELECT $1::text,\n  $2::integer", ("a", None)) == "SELECT 'a'::text, NULL::integer;"
    assert statement_render("SELECT $1::text[]", ([],)) == "SELECT ARRAY[]::text[];"
    with pytest.raises(ValueError, match="no argument"):
        statement_render("SELECT $3::text", ("a",))
    with pytest.raises(ValueError, match="without a ::type cast"):
        statement_render("SELECT $1", ("a",))
    with pytest.raises(ValueError, match="variable"):
        statement_render("SELECT a[1:2] FROM t WHERE b = $1::text", ("a",))


def test_the_script_draws_each_body_by_its_cumulative_weight() -> None:
    three = [WorkloadBody(kind="k", body=text, weight=w) for text, w in (("{}", 5), ('{"page":2}', 3), ("{}", 2))]
    recorded: list[list[tuple[str, list[Any]]]] = [
        [("SELECT $1::integer", [1]), ("SELECT $1::text", ["a"])],
        [("SELECT $1::integer", [2])],
        [("SELECT $1::integer", [3])],
    ]
    lines = pgbench_script(three, recorded).splitlines()
    assert lines[2:] == [
        "\\set draw random(1, 10)",
        "\\if :draw <= 5",
        "SELECT 1::integer;",
        "SELECT 'a'::text;",
        "\\elif :draw <= 8",
        "SELECT 2::integer;",
        "\\elif :draw <= 10",
        "SELECT 3::integer;",
        "\\endif",
    ]
    with pytest.raises(ValueError, match="3 bodies but 2 recorded"):
        pgbench_script(three, recorded[:2])
    with pytest.raises(ValueError, match="without a statement"):
        pgbench_script(three, [*recorded[:2], []])


def _pgbench(script: Path, dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [pg_bin("pgbench"), "-n", "-M", "simple", *args, "-f", str(script), dsn],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_pgbench_passes_every_literal_to_postgresql_unchanged(tmp_path: Path, postgres: Postgres) -> None:
    # Each comparison divides by zero if PostgreSQL received a different string (pgbench would have
    # replaced :draw, or a quote or backslash had ended the literal early).
    checks = [
        f"SELECT 1 / (CASE WHEN {sql_literal(text)} = convert_from(decode('{text.encode().hex()}', 'hex'), 'UTF8') "
        "THEN 1 ELSE 0 END);"
        for text in NASTY
    ]
    script = tmp_path / "literals.sql"
    script.write_text("\\set draw 1\n\\set scale 7\n" + "\n".join(checks) + "\n", encoding="utf-8")
    done = _pgbench(script, postgres.superuser_dsn(), "-t", "1")
    assert done.returncode == 0, done.stderr
    assert "number of failed transactions: 0" in done.stdout


@pytest.fixture(scope="module")
def recorded(database_url: str, bodies: list[WorkloadBody]) -> list[list[list[Any]]]:
    """What the FastAPI service runs for each body on the fast suite's catalog, recorded as `make bench` does
    inside a task: scripts/bench/recorder.py run as a program, with the service's settings from the environment."""
    done = subprocess.run(
        [sys.executable, "-c", RECORDER.read_text()],
        input="".join(f"{item.weight}\t{item.kind}\t{item.body}\n" for item in bodies),
        env={**os.environ, **service_env(database_url)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_the_recorder_keeps_every_statement_the_service_ran(
    recorded: list[list[list[Any]]], bodies: list[WorkloadBody]
) -> None:
    assert len(recorded) == len(bodies)
    # The texts the service composes for each body's filters (which do not depend on what the groups hold);
    # the first one with its very arguments.
    no_groups: dict[str, list[Any]] = {"marks": [], "models": [], "names": []}
    split = PriceSplit(first_band=1, last_band=0, low_edge=(1, 0), high_edge=(1, 0))
    for item, statements in zip(bodies, recorded, strict=True):
        filters = parse_search_request(item.body.encode())
        groups = queries.part_groups(filters)
        composed = {
            groups.sql,
            queries.part_search_totals(filters, no_groups).sql,
            queries.part_price_totals(filters, no_groups, split).sql,
            queries.part_search_page(filters, no_groups).sql,
        }
        assert statements and {query for query, _arguments in statements} <= composed
        assert statements[0] == [groups.sql, json.loads(json.dumps(groups.arguments))]
    # Later statements take what the first one found: a search by part of a name sends the resolved names.
    found = (item for item in bodies if item.kind != "nothing" and '"part_name":"бампер"' in item.body)
    body = bodies.index(next(found))
    later = [argument for _query, arguments in recorded[body][1:] for argument in arguments]
    resolved = [set(a) for a in later if isinstance(a, list) and a and all(isinstance(x, str) for x in a)]
    assert resolved and all(names <= {"Бампер задний", "Бампер передний"} for names in resolved)


def test_the_workload_script_runs_in_pgbench(
    tmp_path: Path, database_url: str, bodies: list[WorkloadBody], recorded: list[list[list[Any]]]
) -> None:
    script = tmp_path / "search.sql"
    script.write_text(pgbench_script(bodies, recorded), encoding="utf-8")
    done = _pgbench(script, database_url, "-c", "2", "-j", "2", "-t", "50", "--random-seed=1")
    assert done.returncode == 0, done.stderr
    assert "number of transactions actually processed: 100/100" in done.stdout
    assert "number of failed transactions: 0" in done.stdout


def test_the_rendered_sql_answers_what_the_fastapi_service_answers(
    database_url: str, fastapi_client: httpx.Client, bodies: list[WorkloadBody], recorded: list[list[list[Any]]]
) -> None:
    # The 30 most popular bodies and every tenth of the rest: every kind, deep pages and empty results.
    chosen = list(range(30)) + list(range(30, len(bodies), 10))
    with psycopg.connect(database_url) as connection:
        for index in chosen:
            count = summ = None
            ids: list[int] = []
            for statement in search_statements(recorded[index]):
                cursor = connection.execute(statement.rstrip(";"))
                columns = [column.name for column in cursor.description or []]
                rows = cursor.fetchall()
                if columns[:2] == ["count", "summ"]:
                    count, summ = rows[0][0], rows[0][1]
                elif columns[:1] == ["id"]:
                    ids = [row[0] for row in rows]
            answer = fastapi_client.post("/search/part/", json=json.loads(bodies[index].body)).json()
            expected = (answer["count"], answer["summ"], [part["id"] for part in answer["response"]])
            assert (count, summ, ids) == expected, bodies[index].body


def test_the_edge_log_splits_a_search_into_its_wait_and_the_app_s_time() -> None:
    lines = [
        '10.0.0.2 [2026-12-06T19:00:00+00:00] "POST /fastapi/search/part/ HTTP/1.1" 200 512 rt=0.050 '
        "upstream=10.0.1.5:8000 ustatus=200 urt=0.012 rid=a",
        '10.0.0.2 [2026-12-06T19:00:00+00:00] "POST /fastapi/search/part/ HTTP/1.1" 200 512 rt=0.030 '
        "upstream=10.0.1.6:8000 ustatus=200 urt=0.010 rid=b",
        '10.0.0.2 [2026-12-06T19:00:00+00:00] "GET /mark/ HTTP/1.1" 200 90 rt=0.004 '
        "upstream=10.0.1.7:8000 ustatus=200 urt=0.004 rid=c",
        # Answered by the edge itself (no upstream time): not an app's answer.
        '10.0.0.2 [2026-12-06T19:00:00+00:00] "POST /fastapi/search/part/ HTTP/1.1" 503 80 rt=2.001 '
        "upstream=- ustatus=- urt=- rid=d",
    ]
    times = edge_times(lines, "/fastapi/search/part/")
    assert times["edge"] == [50.0, 30.0]
    assert times["app"] == [12.0, 10.0]
    assert [round(value, 6) for value in times["before_app"]] == [38.0, 20.0]
    assert len(edge_times(lines)["edge"]) == 3
