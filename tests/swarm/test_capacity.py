"""The stack at 1 000 000 parts, where PostgreSQL's two cores are the limit: overload is shed, not spread, and
a migration that builds an index over the whole table runs during a rolling update without a failed request.

The module seeds the catalog up to 1M parts with the real seed_parts (about 2 minutes) and puts it back to
what `make up` seeds when it is done, so the other modules see the usual catalog.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import cycle

import pytest

from tests.swarm.harness import (
    APPS,
    HTTP_PORT,
    REPO_ROOT,
    STACK,
    docker,
    http_call,
    image_variant,
    operator_headers,
    postgres_sql,
    script,
    service_containers,
    service_image,
    service_running_replicas,
    service_task_addresses,
    upstream_addresses,
    wait_until,
)
from tests.swarm.loadgen import LoadGenerator, assert_no_request_failed, percentile

pytestmark = pytest.mark.swarm

BIG_CATALOG = 1_000_000
# What scripts/up.sh seeds (SEED_PARTS, SEED_NUMBER): restored afterwards.
USUAL_PARTS, USUAL_SEED = 10_000, 1
# Searches of every shape, selective and broad, as a parts shop sees them.
SEARCH_MIX: tuple[dict[str, object], ...] = (
    {"mark_name": "Honda", "part_name": "бамп", "params": {"color": "черный"}},
    {"producer_country_name": "Япония", "params": {"is_new_part": True}},
    {"part_name": "belt"},
    {"part_name": "фара", "price_lte": 20000},
    {"mark_name": "BMW", "model_name": "X5", "price_gte": 50000, "price_lte": 51000},
    {"model_name": "Camry", "params": {"count": 7}},
    {"price_gte": 99000},
    {"mark_name": "Lada", "page": 3},
    {"part_name": "Oil filter", "params": {"color": "White", "is_new_part": False}},
    {"mark_list": [1, 2], "part_name": "радиатор"},
    {"mark_name": "Toyota", "model_name": "Accord"},
    {"page": 40},
)
SATURATING_CLIENTS = 8
# The bar: four times the load a service can serve keeps >= 80% of its saturated throughput.
OVERLOAD_FACTOR = 4
MIN_SERVED_SHARE = 0.8
# The saturated and overloaded loads alternate (S, O, S, O) and each is summed over its rounds: a slow drift
# of this shared 2-core machine (another job, a checkpoint after the seeding) then weighs on both alike. One
# 20 s phase of each, one after the other, measured FastAPI's ratio at 0.73 to 0.93 on the same commit.
ROUNDS = 2
PHASE_SECONDS = 10
WARMUP_SECONDS = 3
# A served search waits at most the edge's queue (2 s) and runs at most two 5 s statements.
SERVED_P99_BOUND_MS = 12_000


@pytest.fixture(scope="module")
def big_catalog(swarm_stack: str) -> Iterator[int]:
    visible = _visible_parts()
    missing = BIG_CATALOG - int(postgres_sql("SELECT count(*) FROM part"))
    if missing > 0:
        _manage("seed_parts", "--parts", str(missing), "--seed", "7", timeout=1200)
        postgres_sql("ANALYZE part")
        visible = _visible_parts()
    try:
        yield visible
    finally:
        _manage("seed_parts", "--clear", "--parts", str(USUAL_PARTS), "--seed", str(USUAL_SEED), timeout=600)
        postgres_sql("ANALYZE part")


def _manage(*args: str, timeout: float) -> str:
    container = service_containers("django")[0]
    return docker("exec", container, "python", "manage.py", *args, timeout=timeout)


def _visible_parts() -> int:
    reply = http_call("POST", "/search/part/", {}, timeout=60)
    assert reply.status == 200, reply.body[:300]
    count = json.loads(reply.body)["count"]
    assert isinstance(count, int)
    return count


@dataclass
class Phase:
    """What `clients` closed-loop keep-alive clients saw; counted over the measured window only."""

    clients: int
    seconds: float
    statuses: Counter[str] = field(default_factory=Counter)
    served_ms: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, other: Phase) -> None:
        """Count another round of the same load into this one."""
        self.seconds += other.seconds
        self.statuses.update(other.statuses)
        self.served_ms.extend(other.served_ms)
        self.problems.extend(other.problems)

    @property
    def served_rps(self) -> float:
        return len(self.served_ms) / self.seconds

    def summary(self) -> str:
        return (
            f"{self.clients} clients over {self.seconds:.0f} s: {self.served_rps:.1f} served/s, "
            f"p50 {percentile(self.served_ms, 0.5):.0f} ms, "
            f"p99 {percentile(self.served_ms, 0.99):.0f} ms, answers {dict(self.statuses)}"
        )


def _closed_loop(path: str, clients: int) -> Phase:
    """Each client keeps one connection and sends the next search as soon as it has an answer (no backing
    off on 503: the worst a client can do). Nobody retries; a reset or a timeout is a problem."""
    phase = Phase(clients=clients, seconds=PHASE_SECONDS)
    lock = threading.Lock()
    start = time.monotonic() + WARMUP_SECONDS
    stop = start + PHASE_SECONDS
    operator = operator_headers()

    def client(number: int) -> None:
        bodies = cycle(SEARCH_MIX[number % len(SEARCH_MIX) :] + SEARCH_MIX[: number % len(SEARCH_MIX)])
        connection = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=60)
        while time.monotonic() < stop:
            sent = time.monotonic()
            try:
                # no-cache: the database's capacity is measured, not the response cache's (12 shapes repeat).
                # Only an operator may skip the cache (nginx/lua/edge_operator.lua).
                headers = {"Content-Type": "application/json", "Cache-Control": "no-cache", **operator}
                connection.request("POST", path, json.dumps(next(bodies)), headers)
                response = connection.getresponse()
                body = response.read()
                answer = "200" if response.status == 200 else f"{response.status} {_error_code(body)}"
                if response.status == 503 and response.getheader("Retry-After") is None:
                    answer += " without Retry-After"
            except (OSError, http.client.HTTPException) as error:
                answer = f"error {type(error).__name__}"
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=60)
            done = time.monotonic()
            if start <= sent and done <= stop:
                with lock:
                    phase.statuses[answer] += 1
                    if answer == "200":
                        phase.served_ms.append((done - sent) * 1000)
        connection.close()

    threads = [threading.Thread(target=client, args=(number,)) for number in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return phase


def _error_code(body: bytes) -> str:
    try:
        return str(json.loads(body)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "not-json"


@pytest.mark.parametrize(("app", "path"), [("django", "/search/part/"), ("fastapi", "/fastapi/search/part/")])
def test_four_times_the_load_is_shed_fast_and_throughput_holds(big_catalog: int, app: str, path: str) -> None:
    assert big_catalog > 800_000
    tasks = {service: set(service_containers(service)) for service in (*APPS, "nginx")}
    saturated = Phase(clients=SATURATING_CLIENTS, seconds=0)
    overloaded = Phase(clients=OVERLOAD_FACTOR * SATURATING_CLIENTS, seconds=0)
    for _ in range(ROUNDS):
        saturated.add(_closed_loop(path, saturated.clients))
        overloaded.add(_closed_loop(path, overloaded.clients))
    figures = f"{path} at {big_catalog} visible parts: {saturated.summary()} | {overloaded.summary()}"
    _record(figures)

    assert saturated.served_ms, figures
    assert overloaded.served_rps >= MIN_SERVED_SHARE * saturated.served_rps, figures
    # What is not served is shed with the apps' JSON 503 and Retry-After: never a reset, a 5xx page or a hang.
    assert set(overloaded.statuses) <= {"200", "503 overloaded", "503 query_timeout"}, figures
    # The overload phase really overloaded: more searches in flight than the edge admits at once, so the rest
    # queued at the edge. Whether any waited past EDGE_QUEUE_SECONDS and was shed depends on how fast the
    # searches are (FastAPI at 1M serves 4x its saturating load inside the 2 s wait); shedding itself, its
    # 503 and Retry-After are proven deterministically in tests/nginx/test_edge.py.
    admitted = _edge_peer_concurrency()[app] * len(upstream_addresses(app))
    assert overloaded.clients > admitted, f"{overloaded.clients} clients never exceed {admitted} slots: {figures}"
    assert percentile(overloaded.served_ms, 0.5) > percentile(saturated.served_ms, 0.5), f"nothing queued: {figures}"
    assert percentile(overloaded.served_ms, 0.99) < SERVED_P99_BOUND_MS, figures
    # No task was replaced: overload is not a health failure.
    assert {service: set(service_containers(service)) for service in tasks} == tasks, figures


def _edge_peer_concurrency() -> dict[str, int]:
    """Searches the edge admits at once per task in rotation: EDGE_PEER_CONCURRENCY of the running nginx service."""
    spec = "{{json .Spec.TaskTemplate.ContainerSpec.Env}}"
    env = json.loads(docker("service", "inspect", f"{STACK}_nginx", "--format", spec))
    setting = next(item.split("=", 1)[1] for item in env if item.startswith("EDGE_PEER_CONCURRENCY="))
    return {app: int(limit) for app, limit in (pair.split("=") for pair in setting.split(","))}


def _record(line: str) -> None:
    """Figures for the README and the issue notes: appended to .cache/capacity.log (not committed)."""
    log = REPO_ROOT / ".cache" / "capacity.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")


def _latest_migration() -> str:
    names = sorted(p.stem for p in (REPO_ROOT / "app" / "catalog" / "migrations").glob("0*.py"))
    return names[-1]


def test_a_migration_building_an_index_over_1m_parts_runs_during_a_rolling_update(big_catalog: int) -> None:
    suffix = str(time.time_ns())[-8:]
    index, migration = f"swarm_test_{suffix}", f"9000_swarm_test_index_{suffix}"
    source = f"""from django.db import migrations, models

from catalog.operations import AddIndexConcurrentlyResumable


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("catalog", "{_latest_migration()}")]
    operations = [
        AddIndexConcurrentlyResumable(
            "part", models.Index(fields=["price", "id"], name="{index}", condition=models.Q(is_visible=True))
        )
    ]
"""
    encoded = base64.b64encode(source.encode()).decode()
    original = service_image("django")
    image = image_variant(
        "django",
        "index",
        # The project is installed as a wheel: the migration goes where the installed catalog package is.
        f"USER root\nRUN echo {encoded} | base64 -d > "
        f"\"$(python -c 'import catalog.migrations as m, os; print(os.path.dirname(m.__file__))')/{migration}.py\"\n"
        "USER 10001:10001\n",
    )
    try:
        with LoadGenerator("127.0.0.1", HTTP_PORT) as load:
            time.sleep(3)
            load.mark("change")
            started = time.monotonic()
            result = script("update.sh", "django", image)
            took = time.monotonic() - started
            assert result.returncode == 0, result.stderr[-2000:]
            wait_until(_django_converged, timeout=120, what="django in rotation")
            load.mark("changed")
            time.sleep(3)
        during = assert_no_request_failed(load)
        _record(
            f"rolling update with a concurrent index build over {big_catalog} parts: {took:.0f} s; {during.summary()}"
        )
        # No rollback: the new image runs, and the index is there and valid.
        assert service_image("django") == image
        assert postgres_sql("SELECT indisvalid FROM pg_index WHERE indexrelid = :'index'::regclass", index=index) == "t"
        applied = "SELECT count(*) FROM django_migrations WHERE app = 'catalog' AND name = :'migration'"
        assert postgres_sql(applied, migration=migration) == "1"
    finally:
        # Back to the image without the test migration, then forget the migration and its index.
        assert script("update.sh", "django", original).returncode == 0
        wait_until(_django_converged, timeout=120, what="django back on its image")
        postgres_sql('DROP INDEX CONCURRENTLY IF EXISTS :"index"', index=index)
        postgres_sql("DELETE FROM django_migrations WHERE app = 'catalog' AND name = :'migration'", migration=migration)


def _django_converged() -> bool:
    tasks = service_task_addresses("django")
    return service_running_replicas("django") == (2, 2) and upstream_addresses("django") == set(tasks.values()) != set()
