"""verdict.py: what --json FILE holds."""

from __future__ import annotations

import json
from pathlib import Path

from scripts.control_plane.docker import Change
from scripts.control_plane.records import Service, ServiceRow, UpdateStatus
from scripts.control_plane.verdict import Timer, Verdict, service_summaries, verdict_document, verdict_write


def test_service_summaries_take_the_image_and_update_state_of_each_service() -> None:
    rows = [
        ServiceRow(id="1", name="partscat_nginx", image="nginx:cli", mode="replicated", replicas="1/1"),
        ServiceRow(id="2", name="partscat_gone", image="gone:1", mode="replicated", replicas="0/1"),
    ]
    services = {
        "partscat_nginx": Service(
            id="1",
            name="partscat_nginx",
            image="nginx:2",
            update_status=UpdateStatus("rollback_completed", "rolled back"),
        )
    }
    summaries = service_summaries(rows, services)
    assert (summaries["partscat_nginx"].image, summaries["partscat_nginx"].update_state) == (
        "nginx:2",
        "rollback_completed",
    )
    assert (summaries["partscat_gone"].image, summaries["partscat_gone"].update_state) == ("gone:1", "")


def test_the_document_and_its_file(tmp_path: Path) -> None:
    verdict = Verdict(command="update", args=["nginx", "nginx:2"], dry_run=False, stack="partscat", started_at=100.0)
    ticks = iter([0.0, 1.5])
    with Timer(verdict, lambda: next(ticks)).phase("update"):
        pass
    verdict.changes = [Change("docker service update ...", ran=True, returncode=0, at=100.5)]
    verdict.finished_at, verdict.exit_code, verdict.outcome = 102.25, 1, "rolled_back"
    verdict.reason = "update of partscat_nginx failed (rollback_completed): rolled back"
    path = tmp_path / "out" / "verdict.json"
    verdict_write(path, verdict)
    document = json.loads(path.read_text())
    assert document == verdict_document(verdict)
    assert (document["ok"], document["seconds"], document["phases"]) == (False, 2.25, {"update": 1.5})
    assert document["changes"] == [
        {"command": "docker service update ...", "ran": True, "exit_code": 0, "at": "1970-01-01T00:01:40.500Z"}
    ]
    assert [item.name for item in path.parent.iterdir()] == ["verdict.json"]  # no temporary file left
