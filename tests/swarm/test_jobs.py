"""Background jobs in the running stack: the token the deploy created from the `jobs_api_token` secret works,
and a rolling update of `celery-worker` while 200 jobs are queued and running loses none and runs none twice.

The jobs are real seed jobs. Each adds exactly PARTS_PER_JOB parts however often it is delivered (a re-run
resumes from its last committed batch), so the parts added measure "exactly once". The parts are deleted
afterwards, so the other modules see the usual catalog.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.swarm.harness import (
    docker,
    http_call,
    image_variant,
    postgres_sql,
    script,
    service_containers,
    service_image,
    wait_until,
)

pytestmark = pytest.mark.swarm

JOBS = 200
# 1M parts in all: about a minute of work on two cores, so the old worker is stopped with jobs still to do.
PARTS_PER_JOB = 5_000
FINISH_TIMEOUT_SECONDS = 600


def _deploy_token() -> str:
    """The secret the deploy made a token of: the stack is usable at once, with no manage.py step."""
    containers = service_containers("django")
    assert containers, "no running django task"
    return docker("exec", containers[0], "cat", "/run/secrets/jobs_api_token").strip()


def _job_statuses(ids: list[int]) -> Counter[str]:
    rows = postgres_sql(
        "SELECT status, count(*) FROM job WHERE id = ANY(string_to_array(:'ids', ',')::bigint[]) GROUP BY status",
        ids=",".join(map(str, ids)),
    )
    return Counter({status: int(count) for status, count in (line.split("|") for line in rows.splitlines())})


def _search_count(path: str) -> int:
    reply = http_call("POST", path, {})
    assert reply.status == 200, reply.body[:300]
    count = json.loads(reply.body)["count"]
    assert isinstance(count, int)
    return count


def test_writes_need_the_deploys_token_and_reads_stay_open(swarm_stack: str) -> None:
    body = {"kind": "seed", "params": {"parts": 1}}
    refused = http_call("POST", "/api/jobs/", body)
    assert refused.status == 401, refused.body[:300]
    assert json.loads(refused.body)["error"]["code"]
    assert http_call("POST", "/api/jobs/", body, headers={"Authorization": "Bearer not-a-token"}).status == 401
    assert http_call("GET", "/api/jobs/").status == 200


def test_a_rolling_update_of_the_worker_loses_no_job_and_runs_none_twice(swarm_stack: str) -> None:
    auth = {"Authorization": f"Bearer {_deploy_token()}"}
    last_part = int(postgres_sql("SELECT coalesce(max(id), 0) FROM part"))
    workers_before = set(service_containers("celery-worker"))
    image = image_variant("celery-worker", "jobs")
    counts_before = {path: _search_count(path) for path in ("/search/part/", "/fastapi/search/part/")}
    ids: list[int] = []
    try:
        for number in range(JOBS):
            params = {"parts": PARTS_PER_JOB, "seed": number}
            body = {"kind": "seed", "name": f"swarm update {number}", "params": params}
            reply = http_call("POST", "/api/jobs/", body, headers=auth)
            assert reply.status == 202, reply.body[:300]
            ids.append(int(json.loads(reply.body)["id"]))
        wait_until(lambda: _job_statuses(ids)["running"] > 0, timeout=60, what="a job running")

        updated = script("update.sh", "celery-worker", image)
        assert updated.returncode == 0, updated.stderr[-2000:]
        assert service_image("celery-worker") == image
        assert not workers_before & set(service_containers("celery-worker")), "the worker tasks were not replaced"
        # The old worker stopped (SIGTERM, warm shutdown) while jobs were still to do: some ended after it.
        stopped = {docker("inspect", old, "--format", "{{.State.FinishedAt}}").strip() for old in workers_before}
        later = int(
            postgres_sql(
                "SELECT count(*) FROM job WHERE id = ANY(string_to_array(:'ids', ',')::bigint[]) "
                "AND (finished_at IS NULL OR finished_at > :'stopped'::timestamptz)",
                ids=",".join(map(str, ids)),
                stopped=max(stopped),
            )
        )
        assert later > 0, f"every job ended before the old worker stopped at {stopped}"

        wait_until(
            lambda: _job_statuses(ids)["done"] == JOBS or _job_statuses(ids)["failed"] > 0,
            timeout=FINISH_TIMEOUT_SECONDS,
            what=f"{JOBS} jobs done",
            interval=2,
        )
        statuses = _job_statuses(ids)
        assert statuses == Counter({"done": JOBS}), statuses
        added = int(postgres_sql("SELECT count(*) FROM part WHERE id > :'last'", last=str(last_part)))
        attempts = postgres_sql(
            "SELECT attempts, count(*) FROM job WHERE id = ANY(string_to_array(:'ids', ',')::bigint[]) "
            "GROUP BY attempts ORDER BY attempts",
            ids=",".join(map(str, ids)),
        )
        # Exactly once: a job that a stopped worker handed back resumed from its checkpoint.
        assert added == JOBS * PARTS_PER_JOB, f"{added} parts added; attempts|jobs: {attempts.split()}"
        # The writes are in the very next search, through the response cache (searched before, so cached).
        shown = int(postgres_sql("SELECT count(*) FROM part WHERE id > :'last' AND is_visible", last=str(last_part)))
        for path, count in counts_before.items():
            reply = http_call("POST", path, {})
            assert json.loads(reply.body)["count"] == count + shown, (path, reply.headers.get("x-cache"))
    finally:
        postgres_sql("DELETE FROM part WHERE id > :'last'; ANALYZE part", last=str(last_part))
