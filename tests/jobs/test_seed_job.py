"""The seed job, through a real worker: N parts added, progress and checkpoint recorded, reproducible by seed."""

from __future__ import annotations

from typing import Any

from catalog.profiles import vocabulary
from tests.jobs.conftest import JobsClient


def test_seed_adds_exactly_n_parts_and_records_its_checkpoint(jobs: JobsClient) -> None:
    before = jobs.parts()
    version = jobs.fingerprint()[4]
    job_id = jobs.create("seed", {"parts": 12_345, "seed": 11})
    job = jobs.wait(job_id)
    assert job["status"] == "done", job["error"]
    assert job["result"] == {"parts_created": 12_345, "seed": 11}
    assert job["error"] is None
    assert job["progress"] == 100
    assert job["attempts"] == 1
    assert job["started_at"] <= job["finished_at"]
    # JOBS_SEED_BATCH_SIZE defaults to 5 000: three batches, the last one short.
    assert job["checkpoint"] == {"batch_size": 5_000, "batches_done": 3, "parts_created": 12_345}
    assert jobs.parts() == before + 12_345
    # Written through the ORM with the catalog's triggers on: the search cache's version moved.
    assert jobs.fingerprint()[4] != version


def test_seed_is_reproducible_from_its_seed(jobs: JobsClient) -> None:
    shape = """
        SELECT md5(string_agg(concat_ws('|', name, mark_id, model_id, price, json_data::text, is_visible), ','
                              ORDER BY id)) AS digest
        FROM part WHERE id > %s
    """

    def seeded(seed: int) -> str:
        last = jobs.one("SELECT coalesce(max(id), 0) AS id FROM part")["id"]
        job = jobs.wait(jobs.create("seed", {"parts": 700, "seed": seed}))
        assert job["status"] == "done", job["error"]
        return str(jobs.one(shape, [last])["digest"])

    first = seeded(5)
    assert seeded(5) == first
    assert seeded(6) != first


def test_a_realistic_seed_draws_from_that_profile_and_is_reproducible(jobs: JobsClient) -> None:
    words = vocabulary("realistic")
    shape = """
        SELECT md5(string_agg(concat_ws('|', p.name, m.name, d.name, p.price, p.json_data::text, p.is_visible), ','
                              ORDER BY p.id)) AS digest,
               count(DISTINCT p.mark_id) AS marks, count(DISTINCT p.name) AS names,
               count(*) FILTER (WHERE NOT (d.name = ANY(%s))) AS foreign_models
        FROM part p JOIN mark m ON m.id = p.mark_id JOIN model d ON d.id = p.model_id WHERE p.id > %s
    """

    def seeded(seed: int) -> dict[str, Any]:
        last = jobs.one("SELECT coalesce(max(id), 0) AS id FROM part")["id"]
        job = jobs.wait(jobs.create("seed", {"parts": 6_000, "seed": seed, "profile": "realistic"}))
        assert job["status"] == "done", job["error"]
        assert job["checkpoint"] == {"batch_size": 5_000, "batches_done": 2, "parts_created": 6_000}
        return jobs.one(shape, [[name for name, _ in words.models], last])

    first = seeded(5)
    assert first["foreign_models"] == 0
    assert first["marks"] > 30 and first["names"] > 1_000
    assert jobs.one("SELECT count(*) AS n FROM mark WHERE name = ANY(%s)", [[name for name, _ in words.marks]]) == {
        "n": len(words.marks)
    }
    assert seeded(5) == first
    assert seeded(6)["digest"] != first["digest"]
