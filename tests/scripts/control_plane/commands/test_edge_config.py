"""commands/edge_config.py (edge-config.sh): a changed nginx.conf to every Nginx task here, in place."""

from __future__ import annotations

from pathlib import Path

from tests.scripts.control_plane.fake_swarm import checkout, container_json, events, run_cli, stack_swarm

APPLY = "python3 /opt/nginx/upstream_watcher.py apply-config"


def test_applies_the_checkout_nginx_conf_to_every_nginx_task(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.containers["partscat_nginx"] = [
        container_json("n1", "partscat_nginx"),
        container_json("n2", "partscat_nginx"),
    ]
    root = checkout(tmp_path)
    run = run_cli(swarm, root, "edge-config")
    assert run.exit_code == 0, run.stderr
    assert swarm.changes == [f"docker exec -i n1 {APPLY}", f"docker exec -i n2 {APPLY}"]
    assert swarm.stdin_files == [root / "nginx" / "nginx.conf"] * 2
    assert f"applying {root}/nginx/nginx.conf to nginx task n1" in run.stderr
    assert "applied to 2 nginx task(s)" in run.stderr
    assert [event["event"] for event in events(tmp_path)].count("edge_config") == 2


def test_a_file_nginx_refuses_stops_and_says_the_old_one_runs(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.exec_codes["apply-config"] = 1
    conf = tmp_path / "bad.conf"
    conf.write_text("nonsense")
    run = run_cli(swarm, checkout(tmp_path), "edge-config", str(conf))
    assert run.exit_code == 1
    assert f"nginx task nginx-1 refused {conf}; it still runs its previous configuration" in run.stderr


def test_no_file_or_no_nginx_task(tmp_path: Path) -> None:
    missing = run_cli(stack_swarm(), checkout(tmp_path), "edge-config", "no/such.conf")
    assert (missing.exit_code, "no such file: no/such.conf" in missing.stderr) == (1, True)
    swarm = stack_swarm()
    swarm.containers["partscat_nginx"] = []
    none = run_cli(swarm, tmp_path, "edge-config")
    assert (none.exit_code, "no running partscat_nginx task on this node" in none.stderr) == (1, True)


def test_a_dry_run_applies_nothing(tmp_path: Path) -> None:
    swarm = stack_swarm()
    run = run_cli(swarm, checkout(tmp_path), "edge-config", "--dry-run")
    assert (run.exit_code, swarm.changes, swarm.stdin_files) == (0, [], [])
    assert f"+ docker exec -i nginx-1 {APPLY}  # dry run: not run" in run.stderr
