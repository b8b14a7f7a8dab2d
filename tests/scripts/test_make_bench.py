"""scripts/bench/make_bench.py (`make bench`): the variables become run.py measure's arguments, as bench.sh
passed them, and the invocation recorded in env.md."""

from __future__ import annotations

from itertools import pairwise

from scripts.bench.make_bench import invocation, measure_argv, settings

TARGET = {
    "django_service": "partscat_django-green",
    "fastapi_service": "partscat_fastapi-green",
    "nginx_service": "partscat_nginx",
    "postgres_service": "partscat_postgres",
    "host": "parts.example.com",
}


def test_the_defaults_measure_both_sizes_of_the_task_profile() -> None:
    argv = measure_argv({}, TARGET)
    assert argv[:5] == ["measure", "--parts", "10000", "1000000", "--profiles"]
    assert argv[argv.index("--connections") + 1 : argv.index("--runs")] == ["8", "32", "128"]
    assert argv[argv.index("--workload-seeds") + 1 : argv.index("--distinct")] == ["1", "2", "3"]
    assert argv[argv.index("--base-url") + 1] == "http://127.0.0.1:8080"
    assert argv[argv.index("--host") + 1] == "parts.example.com"
    assert argv[argv.index("--django-service") + 1] == "partscat_django-green"
    assert "--dry-run" not in argv
    assert "--out" not in argv


def test_every_variable_reaches_its_argument() -> None:
    environ = {
        "PARTS": "10000",
        "PROFILES": "task realistic",
        "RUNS": "1",
        "DURATION": "3",
        "WARMUP": "1",
        "CONNECTIONS": "32",
        "THREADS": "1",
        "DATA_SEED": "4",
        "WORKLOAD_SEEDS": "5",
        "BODIES": "100",
        "LONG_TAIL": "0",
        "OUT": "/tmp/run",
        "DRY_RUN": "1",
        "HTTP_PORT": "18080",
    }
    argv = measure_argv(environ, TARGET)
    pairs = dict(pairwise(argv))
    assert pairs["--parts"] == "10000"
    assert argv[argv.index("--profiles") + 1 : argv.index("--connections")] == ["task", "realistic"]
    assert (pairs["--runs"], pairs["--duration"], pairs["--warmup"], pairs["--threads"]) == ("1", "3", "1", "1")
    assert (pairs["--data-seed"], pairs["--workload-seeds"], pairs["--distinct"]) == ("4", "5", "100")
    assert (pairs["--long-tail"], pairs["--out"]) == ("0", "/tmp/run")
    assert pairs["--base-url"] == "http://127.0.0.1:18080"
    assert argv[-1] == "--dry-run"


def test_an_empty_variable_means_its_default_and_dry_run_0_measures() -> None:
    assert settings({"RUNS": "", "PARTS": "10000"})["RUNS"] == "3"
    assert "--dry-run" not in measure_argv({"DRY_RUN": "0"}, TARGET)


def test_the_invocation_is_the_command_that_measures_the_same_points() -> None:
    assert invocation(settings({})) == (
        'PARTS="10000 1000000" PROFILES="task" RUNS=3 DURATION=10 WARMUP=5 CONNECTIONS="8 32 128" THREADS=2'
        ' DATA_SEED=1 WORKLOAD_SEEDS="1 2 3" BODIES=1200 LONG_TAIL=50000 make bench'
    )
