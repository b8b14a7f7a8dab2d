"""commands/cluster.py (cluster.sh, `make cluster`): up, down, status, env and edges on a cluster in memory
(fake_cluster.py), this machine's files under a temporary directory."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from scripts.control_plane.decisions.cluster import hosts_block
from tests.scripts.control_plane.fake_cluster import NODE_IMAGE, REGISTRY_IMAGE, TOKEN, Lab, lab
from tests.scripts.control_plane.fake_swarm import FakeClock

CONTAINERS = ["partscat-registry", "partscat-node-1", "partscat-node-2", "partscat-node-3"]


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:
    return lab(tmp_path, monkeypatch)


def up(cluster: Lab) -> str:
    run = cluster.run("up")
    assert run.exit_code == 0, run.stderr
    assert run.stdout == ""
    return run.stderr


def test_up_makes_the_whole_cluster(cluster: Lab) -> None:
    log = up(cluster)
    docker = cluster.docker
    assert sorted(docker.containers) == sorted(CONTAINERS)
    assert all(docker.running(name) for name in CONTAINERS)
    assert docker.containers["partscat-node-2"]["Args"][-1] == NODE_IMAGE
    assert docker.containers["partscat-registry"]["Args"][-1] == REGISTRY_IMAGE
    assert docker.networks == {"partscat-cluster": ["10.231.0.0/24"]}
    assert docker.volumes == {"partscat-registry-data", *(f"partscat-node-{n}-docker" for n in (1, 2, 3))}
    # One swarm: node 1 manages it, 2 and 3 joined; labelled as the suite expects.
    assert docker.engines[1].manager and [docker.engines[n].state for n in (1, 2, 3)] == ["active"] * 3
    assert docker.labels_of(1) == {"partscat.postgres": "true", "partscat.edge": "true"}
    assert docker.labels_of(2) == {"partscat.edge": "true"}
    assert docker.labels_of(3) == {}
    # This machine: the registry's name, the CA for docker, a socket directory per node, the TLS files.
    assert cluster.hosts().endswith(hosts_block() + "\n")
    tls = cluster.paths.tls
    assert (cluster.paths.certs_d / "ca.crt").read_bytes() == tls.ca_crt.read_bytes()
    assert all((cluster.paths.socket_root / f"node-{n}").is_dir() for n in (1, 2, 3))
    assert stat.S_IMODE(tls.key.stat().st_mode) == 0o600 and stat.S_IMODE(tls.crt.stat().st_mode) == 0o644
    assert stat.S_IMODE(tls.directory.stat().st_mode) == 0o700
    assert not tls.csr.exists()
    assert cluster.chowned == [(str(tls.key), 5443, 5443)]
    # The steps and their times, as the bash logged them.
    for step in ("images", "TLS files", "network", "registry", "registry name and CA on this machine"):
        assert f"[cluster.sh] {step}: done in 0.0s" in log
    assert "[cluster.sh] making the cluster's CA in" in log
    assert "issuing the registry's certificate (DNS:registry.partscat.test, IP:127.0.0.1): the CA is new" in log
    assert '[cluster.sh] cluster up in 0.0s; eval "$(scripts/cluster.sh env)" to drive it' in log


def test_every_command_is_printed_and_the_join_token_never(cluster: Lab) -> None:
    log = up(cluster)
    assert "[cluster.sh] + bash " in log and "scripts/build-images.sh --cluster" in log
    assert (
        "+ docker network create --driver bridge --subnet 10.231.0.0/24 --gateway 10.231.0.1 "
        "--label partscat.cluster=network partscat-cluster"
    ) in log
    socket = f"unix://{cluster.paths.socket_root}/node-1/docker.sock"
    assert f"+ docker --host {socket} swarm init --advertise-addr 10.231.0.11" in log
    assert "swarm join --token '<token>' --advertise-addr 10.231.0.12 10.231.0.11:2377" in log
    assert TOKEN not in log
    assert "+ openssl x509 -req" in log and "-extfile /dev/stdin  # extensions on stdin" in log
    assert "subjectAltName=DNS:registry.partscat.test,IP:127.0.0.1\n" in "".join(filter(None, cluster.host.stdin))
    # The joins ran with the real token.
    joins = [call for call in cluster.docker.calls if "join" in call and "--token" in call]
    assert len(joins) == 2 and all(TOKEN in call for call in joins)


def test_a_second_up_changes_nothing(cluster: Lab) -> None:
    up(cluster)
    before = len(cluster.docker.changes())
    programs = len(cluster.host.calls)
    log = up(cluster)
    assert cluster.docker.changes()[before:] == []
    # build-images.sh runs again (it skips what is built), openssl only looks.
    again = [call[:2] for call in cluster.host.calls[programs:]]
    assert ("openssl", "req") not in again and ("openssl", "x509") in again
    for line in (
        "network partscat-cluster already exists",
        "partscat-registry already running",
        "partscat-node-3 already running",
        "/hosts already names registry.partscat.test",
        "ca.crt already in place",
        "partscat-node-1 already manages the swarm",
        "partscat-node-2 already in the swarm",
        "partscat-node-1 already labelled partscat.postgres=true",
        "partscat-node-2 already labelled partscat.edge=true",
    ):
        assert line in log


def test_a_stopped_node_is_started_and_a_paused_one_unpaused(cluster: Lab) -> None:
    up(cluster)
    cluster.docker.containers["partscat-node-3"]["State"] = "exited"
    cluster.docker.containers["partscat-node-2"]["State"] = "paused"
    before = len(cluster.docker.changes())
    up(cluster)
    assert cluster.docker.changes()[before:] == ["unpause partscat-node-2", "start partscat-node-3"]


def test_a_new_certificate_recreates_the_registry_and_keeps_its_volume(cluster: Lab) -> None:
    up(cluster)
    cluster.host.verifies = False
    before = len(cluster.docker.changes())
    log = up(cluster)
    assert (
        "issuing the registry's certificate (DNS:registry.partscat.test, IP:127.0.0.1): the CA did not sign it" in log
    )
    assert (
        "partscat-registry was made from other arguments (image, certificate or mounts changed): "
        "re-creating it, volume kept"
    ) in log
    changes = cluster.docker.changes()[before:]
    assert changes[:2] == ["stop --timeout 30 partscat-registry", "rm --force partscat-registry"]
    assert changes[2].startswith("run --detach --name partscat-registry --label partscat.cluster.spec=")
    assert len(changes) == 3  # the nodes mount the CA, which did not change
    assert "partscat-registry-data" in cluster.docker.volumes


def test_a_new_node_image_recreates_the_nodes_which_keep_their_swarm(cluster: Lab) -> None:
    up(cluster)
    ids = [cluster.docker.engines[n].node_id for n in (1, 2, 3)]
    cluster.host.cluster_dir.joinpath("images.env").write_text("")  # rewritten by build-images.sh anyway
    cluster.docker.containers["partscat-node-2"]["Labels"]["partscat.cluster.spec"] = "0" * 16
    log = up(cluster)
    assert "partscat-node-2 was made from other arguments" in log
    assert [cluster.docker.engines[n].node_id for n in (1, 2, 3)] == ids
    assert "partscat-node-2 already in the swarm" in log


def test_a_worker_from_another_swarm_leaves_and_joins_and_its_old_entry_goes(cluster: Lab) -> None:
    up(cluster)
    docker = cluster.docker
    # Node 3 lost its volume and came back as a new node still in a swarm the manager does not know.
    old = docker.engines[3].node_id
    docker.engines[3].node_id = "elsewhere"
    docker.table[old]["state"] = "down"
    drained = docker.engines[2].node_id
    docker.table[drained]["availability"] = "drain"
    before = len(docker.changes())
    log = up(cluster)
    changes = docker.changes()[before:]
    socket3 = f"--host unix://{cluster.paths.socket_root}/node-3/docker.sock"
    assert changes[0] == f"{socket3} swarm leave --force"
    assert changes[1].startswith(f"{socket3} swarm join --token {TOKEN}")
    assert f"removing partscat-node-3's stale swarm entry {old} (the node joined again as another)" in log
    assert any(change.endswith(f"node rm --force {old}") for change in changes)
    assert any(change.endswith(f"node update --availability active {drained}") for change in changes)
    assert old not in docker.table
    assert docker.table[drained]["availability"] == "active"
    assert docker.labels_of(3) == {}


def test_a_pending_worker_is_given_time_before_it_is_judged(cluster: Lab) -> None:
    up(cluster)
    docker = cluster.docker
    docker.engines[2].state = "pending"
    clock = FakeClock()
    run = cluster.run("up", clock=clock)
    # Still pending after 30 s: it leaves and joins again.
    assert run.exit_code == 0, run.stderr
    assert clock.elapsed >= 30
    assert "swarm leave --force" in run.stderr


def test_a_manager_that_is_no_manager_is_refused(cluster: Lab) -> None:
    up(cluster)
    cluster.docker.engines[1].manager = False
    run = cluster.run("up")
    assert run.exit_code == 1
    assert (
        "[cluster.sh] ERROR: partscat-node-1 is in a swarm but not its manager; "
        "scripts/cluster.sh down --volumes starts afresh"
    ) in run.stderr


def test_a_network_with_another_subnet_is_refused(cluster: Lab) -> None:
    cluster.docker.networks["partscat-cluster"] = ["172.30.0.0/16"]
    run = cluster.run("up")
    assert run.exit_code == 1
    assert "ERROR: network partscat-cluster exists with subnet 172.30.0.0/16, not 10.231.0.0/24" in run.stderr
    assert cluster.docker.containers == {}


def test_a_dockerd_that_never_answers_stops_up_with_its_log(cluster: Lab) -> None:
    cluster.docker.engines[2].answers = False
    clock = FakeClock()
    run = cluster.run("up", clock=clock)
    assert run.exit_code == 1
    assert "partscat-node-2: last words" in run.stderr
    assert (
        f"ERROR: dockerd in partscat-node-2 did not answer on unix://{cluster.paths.socket_root}/node-2" in run.stderr
    )
    assert 90 <= clock.elapsed < 95


def test_a_failed_image_build_stops_up_with_its_exit_code(cluster: Lab) -> None:
    cluster.host.build_code = 3
    run = cluster.run("up")
    assert run.exit_code == 3
    assert "scripts/build-images.sh failed (exit 3)" in run.stderr
    assert cluster.docker.containers == {}


def test_up_without_docker_says_how_to_start_it(cluster: Lab) -> None:
    cluster.docker.host_up = False
    run = cluster.run("up")
    assert (run.exit_code, cluster.host.calls) == (1, [])
    assert "ERROR: docker daemon not reachable; run scripts/docker-engine.sh" in run.stderr


def test_a_docker_host_pointing_at_the_manager_is_not_used_for_this_machines_engine(cluster: Lab) -> None:
    manager = f"unix://{cluster.paths.socket_root}/node-1/docker.sock"
    run = cluster.run("up", environ={"DOCKER_HOST": manager, "PATH": "/usr/bin"})
    assert run.exit_code == 0, run.stderr
    for call, env in zip(cluster.docker.calls, cluster.docker.envs, strict=True):
        if call[1] == "--host":
            continue
        assert env is not None and "DOCKER_HOST" not in env and env["PATH"] == "/usr/bin", call


def test_a_dry_run_changes_nothing(cluster: Lab) -> None:
    run = cluster.run("--dry-run", "up")
    assert run.exit_code == 1  # no images.env yet: build-images.sh was not run
    assert "images.env missing" in run.stderr
    (cluster.paths.cluster_dir).mkdir(parents=True)
    (cluster.paths.cluster_dir / "images.env").write_text(f"NODE_IMAGE={NODE_IMAGE}\nREGISTRY_IMAGE={REGISTRY_IMAGE}\n")
    hosts = cluster.hosts()
    run = cluster.run("--dry-run", "up")
    assert run.exit_code == 0, run.stderr
    assert cluster.docker.changes() == []
    # Nothing built, no openssl; only curl's look at the registry.
    assert {call[0] for call in cluster.host.calls} == {"curl"}
    assert cluster.hosts() == hosts and not cluster.paths.tls.directory.exists()
    assert "+ docker run --detach --name partscat-node-3" in run.stderr
    assert "dry run: dockerd in partscat-node-1 does not answer" in run.stderr


def test_a_dry_run_on_a_running_cluster_looks_at_everything(cluster: Lab) -> None:
    up(cluster)
    before, programs = len(cluster.docker.changes()), len(cluster.host.calls)
    run = cluster.run("--dry-run", "up")
    assert run.exit_code == 0, run.stderr
    assert cluster.docker.changes()[before:] == []
    assert all(call[0] != "bash" for call in cluster.host.calls[programs:])
    assert "partscat-node-2 already labelled partscat.edge=true" in run.stderr


def test_down_removes_everything_but_the_volumes(cluster: Lab) -> None:
    up(cluster)
    cluster.paths.hosts_file.write_text(cluster.hosts() + "10.9.9.9 after\n")
    run = cluster.run("down")
    assert run.exit_code == 0, run.stderr
    docker = cluster.docker
    assert (docker.containers, docker.networks) == ({}, {})
    assert cluster.hosts() == "127.0.0.1\tlocalhost\n10.9.9.9 after\n"
    assert not cluster.paths.certs_d.exists() and not cluster.paths.socket_root.exists()
    assert len(docker.volumes) == 4 and cluster.paths.tls.ca_crt.exists()
    assert "volumes kept (the nodes' swarm state and images, the registry's images); --volumes deletes them" in (
        run.stderr
    )
    assert "removing registry.partscat.test from" in run.stderr


def test_down_volumes_deletes_them_and_a_second_down_has_nothing_to_do(cluster: Lab) -> None:
    up(cluster)
    run = cluster.run("down", "--volumes")
    assert run.exit_code == 0, run.stderr
    assert cluster.docker.volumes == set()
    assert not cluster.paths.tls.directory.exists()
    assert cluster.paths.cluster_dir.joinpath("images.env").exists()
    before = len(cluster.docker.changes())
    again = cluster.run("down", "--volumes")
    assert again.exit_code == 0
    assert cluster.docker.changes()[before:] == []
    # The next up starts afresh: a new swarm.
    up(cluster)
    assert cluster.docker.engines[1].manager


def test_down_stops_the_containers_before_removing_them(cluster: Lab) -> None:
    up(cluster)
    before = len(cluster.docker.changes())
    cluster.run("down")
    assert cluster.docker.changes()[before : before + 3] == [
        "stop --timeout 30 partscat-node-1 partscat-node-2 partscat-node-3 partscat-registry",
        "rm --force partscat-node-1 partscat-node-2 partscat-node-3 partscat-registry",
        "network rm partscat-cluster",
    ]


def test_down_refuses_another_argument(cluster: Lab) -> None:
    run = cluster.run("down", "--all")
    assert run.exit_code == 1
    assert "[cluster.sh] ERROR: usage: cluster.sh down [--volumes]" in run.stderr


def test_status_of_a_running_cluster(cluster: Lab) -> None:
    up(cluster)
    run = cluster.run("status")
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "containers:"
    assert lines[1].split() == ["NAMES", "STATUS", "PORTS"]
    assert "swarm nodes (docker node ls on partscat-node-1):" in lines
    assert any(line.startswith("mgr") and "partscat-node-1" in line for line in lines)
    assert lines[-1] == 'registry https://registry.partscat.test:5443/ answers: {"repositories":[]}'


def test_status_after_down_says_what_is_off_and_exits_1(cluster: Lab) -> None:
    up(cluster)
    cluster.run("down", "--volumes")
    run = cluster.run("status")
    assert run.exit_code == 1
    for n in (1, 2, 3):
        assert f"[cluster.sh] partscat-node-{n} is not running" in run.stderr
    assert "[cluster.sh] the manager does not answer" in run.stderr
    assert "[cluster.sh] registry https://registry.partscat.test:5443/ does not answer: curl: (7)" in run.stderr
    assert "ERROR" not in run.stderr


def test_env_prints_four_export_lines_and_nothing_else(cluster: Lab) -> None:
    run = cluster.run("env")
    assert run.exit_code == 0
    lines = run.stdout.splitlines()
    assert [line.split("=", 1)[0] for line in lines] == [
        "export DOCKER_HOST",
        "export REGISTRY",
        "export PARTSCAT_NODE_HOSTS",
        "export EDGE_ADDRESSES",
    ]
    assert cluster.docker.calls == [] and cluster.host.calls == []


def test_edges_follow_the_managers_labels(cluster: Lab) -> None:
    up(cluster)
    run = cluster.run("edges")
    assert (run.exit_code, run.stdout) == (0, "127.0.0.1:18081\n127.0.0.1:18082\n")
    cluster.docker.table[cluster.docker.engines[3].node_id]["labels"]["partscat.edge"] = "true"
    assert cluster.run("edges").stdout.splitlines()[-1] == "127.0.0.1:18083"


def test_edges_without_a_cluster(cluster: Lab) -> None:
    run = cluster.run("edges")
    assert (run.exit_code, run.stdout) == (1, "")
    assert "ERROR: the cluster's manager does not answer (scripts/cluster.sh up)" in run.stderr


@pytest.mark.parametrize("args", [(), ("bogus",), ("up", "now")])
def test_a_usage_error_prints_the_usage_and_exits_64(cluster: Lab, args: tuple[str, ...]) -> None:
    run = cluster.run(*args)
    assert run.exit_code == 64
    assert "cluster.sh down [--volumes]  remove the nodes" in run.stderr
    assert "ERROR" not in run.stderr
    assert cluster.docker.calls == []


def test_only_up_and_down_write_events(cluster: Lab) -> None:
    up(cluster)
    cluster.run("status")
    cluster.run("env")
    events = cluster.root / ".cache" / "stack-events.jsonl"
    kinds = [(line["event"], line["command"]) for line in map(json.loads, events.read_text().splitlines())]
    assert kinds == [("command_started", "cluster"), ("command_finished", "cluster")]
