"""docker.py, the one door to docker: the CLI's JSON (recorded shapes under tests/scripts/fixtures/docker/)
parsed into records, every command printed, and a dry run that runs reads and no change."""

from __future__ import annotations

import io
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scripts.control_plane.docker import (
    Completed,
    Docker,
    Output,
    json_array,
    json_lines,
    parse_container,
    parse_container_inspect,
    parse_image,
    parse_network,
    parse_node,
    parse_node_row,
    parse_rotation,
    parse_service,
    parse_service_row,
    parse_swarm_info,
    parse_task,
    parse_volume,
    subprocess_runner,
)
from scripts.control_plane.records import PublishedPort, SecretRef, UpdateStatus
from scripts.control_plane.runbook import Failure, Runbook
from tests.scripts.control_plane.docker_fixtures import fixture_json, fixture_text


def test_service_inspect() -> None:
    nginx, django, holder = (parse_service(obj) for obj in json_array(fixture_text("service_inspect.json")))

    assert nginx.name == "partscat_nginx"
    assert nginx.labels["partscat.live-colour"] == "blue"
    assert nginx.labels["partscat.candidate-colour"] == "green"
    assert nginx.replicas == 1
    assert nginx.secrets == (
        SecretRef("tls_cert", "partscat_tls_cert_0123456789ab"),
        SecretRef("tls_key", "partscat_tls_key_0123456789ab"),
    )
    assert nginx.published_ports == (PublishedPort(8080, 8080, "tcp", "host"),)
    assert nginx.update_status == UpdateStatus(
        "rollback_completed", "rollback completed", started_at=1796536698.303501, completed_at=1796536704.937747
    )
    # After a rollback Swarm keeps no previous spec.
    assert (nginx.has_previous_spec, nginx.previous_image) == (False, None)

    assert django.image == "partscat/django:9e09124"
    assert django.replicas == 2
    assert "DJANGO_ALLOWED_HOSTS=.parts.example.com,localhost" in django.env
    assert (django.has_previous_spec, django.previous_image) == (True, "partscat/django:ce6f27c")
    assert django.update_status is not None and django.update_status.state == "completed"

    assert holder.is_global
    assert holder.update_status is None


def test_stack_services() -> None:
    rows = [parse_service_row(obj) for obj in json_lines(fixture_text("stack_services.jsonl"))]
    assert [(row.name, row.replicas, row.mode) for row in rows] == [
        ("partscat_celery-beat", "1/1", "replicated"),
        ("partscat_django-blue", "1/2", "replicated"),
        ("partscat_django-green", "0/0", "replicated"),
        ("partscat_edge-socket", "1/1", "global"),
        # "1/1 (max 1 per node)": the counts only.
        ("partscat_nginx", "1/1", "replicated"),
    ]
    assert (rows[1].running, rows[1].desired) == ("1", "2")


def test_service_ps() -> None:
    tasks = [parse_task(obj) for obj in json_lines(fixture_text("service_ps.jsonl"))]
    assert [(task.name, task.state, task.desired_state) for task in tasks] == [
        ("partscat_django-blue.1", "running", "running"),
        ("partscat_django-blue.1", "shutdown", "shutdown"),
        ("partscat_django-blue.2", "starting", "running"),
        ("partscat_django-blue.2", "failed", "shutdown"),
    ]
    assert tasks[3].ended and not tasks[2].ended
    assert tasks[3].error == "task: non-zero exit (1): dockerexec: unhealthy container"
    assert tasks[0].state_text == "Running 6 minutes ago"


def test_a_task_name_in_the_table_indentation() -> None:
    assert parse_task({"Name": " \\_ partscat_django-blue.1", "CurrentState": "Shutdown 1 hour ago"}).name == (
        "partscat_django-blue.1"
    )


def test_nodes_containers_info_secrets_volumes_images_rotation() -> None:
    this, db = (parse_node(obj) for obj in json_array(fixture_text("node_inspect.json")))
    assert (this.hostname, this.state, this.labels) == ("vm", "ready", {})
    assert (db.hostname, db.state, db.labels, db.role) == ("db-node", "down", {"partscat.postgres": "true"}, "worker")

    (nginx,) = (parse_container(obj) for obj in json_lines(fixture_text("ps_nginx.jsonl")))
    assert (nginx.id, nginx.service) == ("103173d23ce2", "partscat_nginx")
    assert nginx.labels["com.docker.swarm.task.name"] == "partscat_nginx.1.059ocj9maf3gxvbjh7vzggfpm"

    info = parse_swarm_info(fixture_json("info_swarm.json"))
    assert (info.node_id, info.local_node_state, info.control_available) == (
        "allsggdsffuv5hututidxk5ua",
        "active",
        True,
    )

    assert json_lines(fixture_text("secret_ls.jsonl"))[0]["Name"] == "partscat_db_app_password"
    assert parse_volume(json_array(fixture_text("volume_inspect.json"))[0]).name == "partscat_pgdata"
    assert parse_image(json_array(fixture_text("image_inspect.json"))[0]).repo_tags == ("partscat/django:9e09124",)

    rotation = parse_rotation(fixture_json("upstreams.json"))
    assert rotation["django-blue"] == ("10.0.1.39:8000", "10.0.1.42:8000")
    assert rotation["fastapi-blue"] == ("10.0.1.36:8001",)
    assert rotation["django-green"] == ()


def test_inspect_of_nothing_is_an_empty_list() -> None:
    assert json_array("[]\n") == []
    assert json_array("") == []


# The adapter's behaviour, with a runner that answers from the fixtures and records every call.

ANSWERS: dict[tuple[str, ...], str] = {
    ("service", "inspect"): fixture_text("service_inspect.json"),
    ("stack", "services"): fixture_text("stack_services.jsonl"),
    ("service", "ps"): fixture_text("service_ps.jsonl"),
    ("node", "ls"): fixture_text("node_ls.jsonl"),
    ("node", "inspect"): fixture_text("node_inspect.json"),
    ("ps", "--filter"): fixture_text("ps_nginx.jsonl"),
    ("info", "--format"): fixture_text("info_swarm.json"),
    ("secret", "ls"): fixture_text("secret_ls.jsonl"),
    ("volume", "inspect"): fixture_text("volume_inspect.json"),
    ("image", "inspect"): fixture_text("image_inspect.json"),
    ("exec", "103173d23ce2"): fixture_text("upstreams.json"),
}


@dataclass
class Recorder:
    calls: list[tuple[str, ...]] = field(default_factory=list)
    stdin: list[str | None] = field(default_factory=list)
    code: int = 0

    def __call__(
        self,
        argv: Sequence[str],
        *,
        stdin_text: str | None = None,
        stdin_path: Path | None = None,
        output: Output = Output.CAPTURE,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Completed:
        self.calls.append(tuple(argv))
        self.stdin.append(stdin_text)
        return Completed(self.code, ANSWERS.get(tuple(argv[1:3]), ""), "boom" if self.code else "")


def adapter(*, dry_run: bool = False, verbose: bool = False) -> tuple[Docker, Recorder, io.StringIO]:
    recorder, err = Recorder(), io.StringIO()
    docker = Docker(runner=recorder, runbook=Runbook("deploy.sh", err=err), dry_run=dry_run, verbose=verbose)
    return docker, recorder, err


def test_reads_ask_for_json_and_return_records() -> None:
    docker, recorder, _err = adapter()
    assert [row.name for row in docker.stack_services("partscat")][:2] == [
        "partscat_celery-beat",
        "partscat_django-blue",
    ]
    services = docker.services(["partscat_nginx", "partscat_django-blue", "partscat_edge-socket"])
    assert set(services) == {"partscat_nginx", "partscat_django-blue", "partscat_edge-socket"}
    assert docker.service_tasks(["partscat_django-blue"], desired_running=True)[0].id == "83hr5vnil4f8m6wibxmfh1raj"
    assert [node.hostname for node in docker.nodes(docker.node_ids())] == ["vm", "db-node"]
    assert docker.containers("partscat_nginx", healthy=True)[0].id == "103173d23ce2"
    assert docker.rotation("103173d23ce2") is not None
    assert recorder.calls[:3] == [
        ("docker", "stack", "services", "partscat", "--format", "{{json .}}"),
        ("docker", "service", "inspect", "partscat_nginx", "partscat_django-blue", "partscat_edge-socket"),
        (
            "docker", "service", "ps", "--no-trunc", "--filter", "desired-state=running", "--format", "{{json .}}",
            "partscat_django-blue",
        ),
    ]  # fmt: skip
    assert recorder.calls[-2] == (
        "docker", "ps", "--filter", "label=com.docker.swarm.service.name=partscat_nginx", "--filter",
        "health=healthy", "--format", "{{json .}}",
    )  # fmt: skip


def test_service_inspect_leaves_out_a_missing_service() -> None:
    def runner(argv: Sequence[str], **_options: object) -> Completed:
        return Completed(1, fixture_text("service_inspect.json"), "Error: no such service: partscat_gone")

    docker = Docker(runner=runner, runbook=Runbook("x", err=io.StringIO()))
    assert "partscat_gone" not in docker.services(["partscat_nginx", "partscat_gone"])
    assert docker.service("partscat_gone") is None


def test_every_read_is_printed_once_and_every_change_each_time() -> None:
    docker, _recorder, err = adapter()
    docker.stack_services("partscat")
    docker.stack_services("partscat")
    docker.service_labels_add("partscat_nginx", {"partscat.live-colour": "green"})
    docker.service_labels_add("partscat_nginx", {"partscat.live-colour": "green"})
    assert err.getvalue().splitlines() == [
        "[deploy.sh] + docker stack services partscat --format '{{json .}}'",
        "[deploy.sh] + docker service update --detach --quiet --label-add partscat.live-colour=green partscat_nginx",
        "[deploy.sh] + docker service update --detach --quiet --label-add partscat.live-colour=green partscat_nginx",
    ]


def test_verbose_prints_every_read() -> None:
    docker, _recorder, err = adapter(verbose=True)
    docker.stack_services("partscat")
    docker.stack_services("partscat")
    assert len(err.getvalue().splitlines()) == 2


def test_a_dry_run_runs_the_reads_and_prints_the_changes_without_running_them() -> None:
    docker, recorder, err = adapter(dry_run=True)
    assert docker.service("partscat_nginx") is not None
    docker.service_image_set("partscat_django-blue", "partscat/django:new", replicas=2)
    docker.service_rollback("partscat_django-blue")
    docker.service_scale("partscat_django-green", 0)
    docker.node_label_add("node1", "partscat.postgres=true")
    docker.secret_create("partscat_x", stack="partscat", value="s3cret")
    docker.stack_deploy("partscat", ["stack.yml"], env={}, cwd=Path())
    docker.exec_change("c1", ["python3", "/opt/nginx/upstream_watcher.py", "live", "green"])

    assert [call[1:3] for call in recorder.calls] == [("service", "inspect")]
    assert all(not change.ran and change.returncode is None for change in docker.changes)
    assert len(docker.changes) == 7
    printed = err.getvalue().splitlines()[1:]
    assert all(line.endswith("# dry run: not run") for line in printed)
    assert printed[0] == (
        "[deploy.sh] + docker service update --detach --quiet --no-resolve-image --image partscat/django:new "
        "--replicas 2 partscat_django-blue  # dry run: not run"
    )


def test_a_secret_value_goes_through_stdin_only() -> None:
    docker, recorder, err = adapter()
    assert docker.secret_create("partscat_x", stack="partscat", value="s3cret-value")
    assert recorder.calls[-1] == (
        "docker", "secret", "create", "--label", "com.docker.stack.namespace=partscat", "partscat_x", "-",
    )  # fmt: skip
    assert recorder.stdin[-1] == "s3cret-value"
    assert "s3cret" not in err.getvalue()
    assert "# value on stdin" in err.getvalue()


def test_a_failed_read_stops_with_its_exit_code_and_a_failed_change_too() -> None:
    docker, recorder, err = adapter()
    recorder.code = 3
    with pytest.raises(Failure) as read:
        docker.stack_services("partscat")
    assert read.value.exit_code == 3
    assert "docker stack services partscat --format '{{json .}}' failed (exit 3): boom" in read.value.reason
    with pytest.raises(Failure) as change:
        docker.service_rollback("partscat_nginx")
    assert change.value.exit_code == 3
    assert "boom" in err.getvalue()  # what docker said is shown
    assert docker.changes[-1].returncode == 3


def test_swarm_info_is_none_when_the_daemon_does_not_answer() -> None:
    docker, recorder, _err = adapter()
    recorder.code = 1
    assert docker.swarm_info() is None


# The real runner, with programs that are not docker.


def test_subprocess_runner_captures_output() -> None:
    script = "import sys; print(sys.stdin.read().upper()); print('warn', file=sys.stderr); sys.exit(4)"
    result = subprocess_runner([sys.executable, "-c", script], stdin_text="abc")
    assert (result.returncode, result.stdout, result.stderr) == (4, "ABC\n", "warn\n")


def test_subprocess_runner_feeds_a_file_to_stdin(tmp_path: Path) -> None:
    source = tmp_path / "nginx.conf"
    source.write_text("events {}\n")
    script = "import sys; sys.stdout.write(sys.stdin.read())"
    assert subprocess_runner([sys.executable, "-c", script], stdin_path=source).stdout == "events {}\n"


def test_subprocess_runner_reports_a_missing_program() -> None:
    assert subprocess_runner(["/nonexistent/docker", "info"]).returncode == 127


def test_with_node_hosts_containers_are_found_on_every_node_and_exec_goes_through_their_node() -> None:
    calls: list[tuple[tuple[str, ...], float | None]] = []
    row = '{"ID":"c1","Names":"partscat_nginx.x","Image":"i","State":"running","Status":"Up","Labels":""}'

    def runner(argv: Sequence[str], *, timeout: float | None = None, **_options: object) -> Completed:
        calls.append((tuple(argv), timeout))
        if list(argv[1:3]) == ["--host", "unix:///n2.sock"]:
            return Completed(124, "", "no answer within 10 s")
        return Completed(0, row if "ps" in argv else "", "")

    err = io.StringIO()
    hosts = {"node-1": "unix:///n1.sock", "node-2": "unix:///n2.sock"}
    docker = Docker(runner=runner, runbook=Runbook("bluegreen.sh", err=err), node_hosts=hosts)
    found = docker.containers("partscat_nginx")
    # node-2 does not answer: left out, and said; node-1's container carries its endpoint.
    assert [(container.id, container.node, container.host) for container in found] == [
        ("c1", "node-1", "unix:///n1.sock")
    ]
    assert "node node-2 (unix:///n2.sock) did not answer: no answer within 10 s" in err.getvalue()
    assert [timeout for _argv, timeout in calls] == [10.0, 10.0]
    docker.exec_change(found[0], ["python3", "w.py", "live", "green"])
    assert list(calls[-1][0]) == [
        "docker",
        "--host",
        "unix:///n1.sock",
        "exec",
        "c1",
        "python3",
        "w.py",
        "live",
        "green",
    ]
    # A change on another node has the same deadline: a node that froze after it was listed hangs nothing.
    assert calls[-1][1] == 10.0
    # A bare id is this engine's, as before, with no deadline.
    docker.exec_read("c9", ["true"], env={"A": "1"})
    assert list(calls[-1][0]) == ["docker", "exec", "-e", "A=1", "c9", "true"]
    assert calls[-1][1] is None


def test_subprocess_runner_gives_up_on_a_command_that_never_answers() -> None:
    result = subprocess_runner([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert (result.returncode, result.stderr) == (124, "no answer within 0.5 s")


# What build and down run.


def test_an_image_pushed_carries_its_registry_digest() -> None:
    (image,) = (parse_image(obj) for obj in json_array(fixture_text("image_inspect_pushed.json")))
    assert image.repo_digests == (
        "registry.example:5443/partscat/django@sha256:f07fcd298cba806b0f0246726e7fa3fbaf4bc057b2e23a7830d8cb6e90bc8515",
    )
    # An image only built here has none.
    assert parse_image(json_array(fixture_text("image_inspect.json"))[0]).repo_digests == ()


def test_the_stack_networks_and_every_container_of_the_stack() -> None:
    def runner(argv: Sequence[str], **_options: object) -> Completed:
        answers = {"network": fixture_text("network_ls.jsonl"), "ps": fixture_text("ps_nginx.jsonl")}
        return Completed(0, answers[argv[1]], "")

    err = io.StringIO()
    docker = Docker(runner=runner, runbook=Runbook("down.sh", err=err))
    assert docker.stack_networks("partscat") == ["partscat_backend", "partscat_cache", "partscat_redis"]
    assert [container.id for container in docker.stack_containers("partscat")] == ["103173d23ce2"]
    assert err.getvalue().splitlines() == [
        "[down.sh] + docker network ls --filter label=com.docker.stack.namespace=partscat --format '{{json .}}'",
        "[down.sh] + docker ps --all --filter label=com.docker.stack.namespace=partscat --format '{{json .}}'",
    ]


@dataclass
class StdinRecorder:
    calls: list[tuple[str, ...]] = field(default_factory=list)
    stdin: list[Path | None] = field(default_factory=list)
    environs: list[Mapping[str, str] | None] = field(default_factory=list)
    stderr: str = ""
    stdout: str = ""
    code: int = 0

    def __call__(
        self,
        argv: Sequence[str],
        *,
        stdin_path: Path | None = None,
        env: Mapping[str, str] | None = None,
        **_options: object,
    ) -> Completed:
        self.calls.append(tuple(argv))
        self.stdin.append(stdin_path)
        self.environs.append(env)
        return Completed(self.code, self.stdout, self.stderr)


def test_a_build_sends_its_context_on_stdin_and_drops_the_legacy_builder_banner(tmp_path: Path) -> None:
    banner = (
        "DEPRECATED: The legacy builder is deprecated and will be removed in a future release.\n"
        "            Install the buildx component to build images with BuildKit:\n"
        "            https://docs.docker.com/go/buildx/\n\n"
    )
    recorder, err = StdinRecorder(stderr=banner + "Step 3/9 failed: no such file\n"), io.StringIO()
    docker = Docker(runner=recorder, runbook=Runbook("build-images.sh", err=err))
    context = tmp_path / "context.tar"
    docker.image_build(
        "partscat/django:abc1234",
        dockerfile="scripts/images/django.Dockerfile",
        context=context,
        build_args=[("PYTHON_BASE", "python:3.11-slim"), ("PARTSCAT_RELEASE_TAG", "abc1234")],
        labels=[("org.opencontainers.image.revision", "abc1234")],
    )
    assert recorder.calls == [
        (
            "docker", "build", "--quiet", "-f", "scripts/images/django.Dockerfile",
            "--build-arg", "PYTHON_BASE=python:3.11-slim", "--build-arg", "PARTSCAT_RELEASE_TAG=abc1234",
            "--label", "org.opencontainers.image.revision=abc1234", "-t", "partscat/django:abc1234", "-",
        )
    ]  # fmt: skip
    assert recorder.stdin == [context]
    assert err.getvalue().splitlines()[1:] == ["Step 3/9 failed: no such file"]
    assert err.getvalue().splitlines()[0].endswith("-t partscat/django:abc1234 -  # context: context.tar on stdin")


def test_a_push_keeps_its_progress_and_import_tag_push_are_changes(tmp_path: Path) -> None:
    recorder, err = StdinRecorder(stdout="abc: digest: sha256:1 size: 2\n", stderr="progress\n"), io.StringIO()
    docker = Docker(runner=recorder, runbook=Runbook("build-images.sh", err=err))
    docker.image_import("partscat/debian-base:x", rootfs_tar=tmp_path / "rootfs.tar", changes=['CMD ["bash"]'])
    docker.image_tag("partscat/redis:r1", "registry.example:5443/partscat/redis:7")
    assert docker.image_push("registry.example:5443/partscat/redis:7").stdout.startswith("abc: digest")
    assert recorder.calls == [
        ("docker", "import", "--change", 'CMD ["bash"]', "-", "partscat/debian-base:x"),
        ("docker", "tag", "partscat/redis:r1", "registry.example:5443/partscat/redis:7"),
        ("docker", "push", "registry.example:5443/partscat/redis:7"),
    ]
    assert recorder.stdin[0] == tmp_path / "rootfs.tar"
    # The push's own words are not relayed (the caller shows them when it fails); the others' stderr is.
    assert err.getvalue().count("progress") == 2
    assert [change.ran for change in docker.changes] == [True, True, True]


def test_a_dry_run_builds_imports_tags_pushes_and_pulls_nothing(tmp_path: Path) -> None:
    recorder, err = StdinRecorder(), io.StringIO()
    docker = Docker(runner=recorder, runbook=Runbook("build-images.sh", err=err), dry_run=True)
    docker.image_build("partscat/nginx:n1", dockerfile="nginx/Dockerfile", context=tmp_path / "c.tar")
    docker.image_import("partscat/debian-base:x", rootfs_tar=tmp_path / "r.tar")
    docker.image_tag("partscat/nginx:n1", "r:5000/partscat/nginx:t")
    docker.image_push("r:5000/partscat/nginx:t")
    docker.image_pull_change("debian:bookworm-slim")
    assert recorder.calls == []
    assert len(docker.changes) == 5
    assert all(line.endswith("# dry run: not run") for line in err.getvalue().splitlines())


def test_the_adapter_environment_goes_to_every_command() -> None:
    recorder = StdinRecorder(stdout="[]")
    docker = Docker(runner=recorder, runbook=Runbook("build-images.sh", err=io.StringIO()))
    docker.image("partscat/nginx:n1")
    docker.env = {"PATH": "/usr/bin"}
    docker.image("partscat/nginx:n1")
    docker.image_tag("a", "b")
    assert recorder.environs == [None, {"PATH": "/usr/bin"}, {"PATH": "/usr/bin"}]


# The cluster's shapes (commands/cluster.py): this engine's containers and network, a node's engine and swarm.


def test_container_inspect_network_inspect_ps_all_node_ls_version() -> None:
    node, registry = (parse_container_inspect(obj) for obj in json_array(fixture_text("container_inspect.json")))
    assert (node.name, node.state, node.image) == ("partscat-node-1", "exited", "partscat/node:339d7f7")
    assert node.labels["partscat.cluster.spec"] == "c6171a434d726fb7"
    assert (registry.name, registry.state) == ("partscat-registry", "running")

    (network,) = (parse_network(obj) for obj in json_array(fixture_text("network_inspect.json")))
    assert (network.name, network.driver, network.subnets) == ("partscat-cluster", "bridge", ("10.231.0.0/24",))
    assert network.labels == {"partscat.cluster": "network"}

    rows = [parse_container(obj) for obj in json_lines(fixture_text("ps_cluster.jsonl"))]
    assert (rows[0].name, rows[0].state) == ("partscat-node-3", "exited")
    assert rows[0].ports == "127.0.0.1:18083->8080/tcp"
    assert rows[0].status == "Exited (255) 11 minutes ago"

    leader, down = (parse_node_row(obj) for obj in json_lines(fixture_text("node_ls.jsonl")))
    assert (leader.hostname, leader.status, leader.manager_status, leader.is_self) == ("vm", "Ready", "Leader", True)
    assert (down.status, down.availability, down.is_self) == ("Down", "Active", False)


CLUSTER_ANSWERS: dict[tuple[str, ...], Completed] = {
    ("container", "inspect"): Completed(1, fixture_text("container_inspect.json"), "Error: No such container: x"),
    ("network", "inspect"): Completed(0, fixture_text("network_inspect.json")),
    ("ps", "--all"): Completed(0, fixture_text("ps_cluster.jsonl")),
    ("version", "--format"): Completed(0, fixture_text("version_server.json")),
    ("info", "--format"): Completed(0, fixture_text("info_swarm.json")),
    ("node", "inspect"): Completed(0, fixture_text("node_inspect.json")),
    ("node", "ls"): Completed(0, fixture_text("node_ls.jsonl")),
    ("swarm", "join-token"): Completed(0, "SWMTKN-1-abc\n"),
}


@dataclass
class ClusterRecorder:
    calls: list[tuple[str, ...]] = field(default_factory=list)
    timeouts: list[float | None] = field(default_factory=list)
    envs: list[Mapping[str, str] | None] = field(default_factory=list)

    def __call__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **_options: object,
    ) -> Completed:
        self.calls.append(tuple(argv))
        self.timeouts.append(timeout)
        self.envs.append(env)
        args = list(argv[3:] if argv[1] == "--host" else argv[1:])
        return CLUSTER_ANSWERS.get(tuple(args[:2]), Completed(0))


def test_the_cluster_reads_ask_for_json() -> None:
    recorder, err = ClusterRecorder(), io.StringIO()
    docker = Docker(runner=recorder, runbook=Runbook("cluster.sh", err=err))
    found = docker.containers_inspect(["partscat-node-1", "partscat-registry", "x"])
    assert sorted(found) == ["partscat-node-1", "partscat-registry"]
    network = docker.network("partscat-cluster")
    assert network is not None and network.subnets == ("10.231.0.0/24",)
    assert [row.name for row in docker.containers_labelled("partscat.cluster.spec")][-1] == "partscat-registry"
    node = docker.on("unix:///run/partscat-cluster/node-1/docker.sock", timeout=60)
    assert node.server_version() == "20.10.24+dfsg1"
    assert node.swarm_join_token() == "SWMTKN-1-abc"
    assert [row.id for row in node.node_rows()] == ["allsggdsffuv5hututidxk5ua", "q1w2e3r4t5y6u7i8o9p0a1s2d"]
    found_node = node.node("allsggdsffuv5hututidxk5ua")
    assert found_node is not None and found_node.hostname == "vm"
    assert node.node("") is None
    assert recorder.calls == [
        ("docker", "container", "inspect", "partscat-node-1", "partscat-registry", "x"),
        ("docker", "network", "inspect", "partscat-cluster"),
        ("docker", "ps", "--all", "--filter", "label=partscat.cluster.spec", "--format", "{{json .}}"),
        *(
            ("docker", "--host", "unix:///run/partscat-cluster/node-1/docker.sock", *args)
            for args in (
                ("version", "--format", "{{json .Server}}"),
                ("swarm", "join-token", "--quiet", "worker"),
                ("node", "ls", "--format", "{{json .}}"),
                ("node", "inspect", "allsggdsffuv5hututidxk5ua"),
            )
        ),
    ]
    # This engine's commands as before (no deadline); a node's with the view's own.
    assert recorder.timeouts == [None, None, None, 60, 60, 60, 60]


def test_a_view_on_a_node_shares_printing_changes_and_the_dry_run() -> None:
    recorder, err = ClusterRecorder(), io.StringIO()
    docker = Docker(runner=recorder, runbook=Runbook("cluster.sh", err=err), dry_run=True)
    node = docker.on("unix:///n2.sock")
    node.swarm_join("SWMTKN-1-secret", advertise_addr="10.231.0.12", manager="10.231.0.11:2377")
    docker.container_run("partscat-node-2", ["--ip", "10.231.0.12", "partscat/node:1"], labels=["a=b"])
    assert recorder.calls == []
    assert [change.command for change in docker.changes] == [
        "docker --host unix:///n2.sock swarm join --token '<token>' --advertise-addr 10.231.0.12 10.231.0.11:2377",
        "docker run --detach --name partscat-node-2 --label a=b --ip 10.231.0.12 partscat/node:1",
    ]
    assert "SWMTKN-1-secret" not in err.getvalue()


def test_a_join_runs_with_the_token_and_prints_without_it() -> None:
    recorder, err = ClusterRecorder(), io.StringIO()
    docker = Docker(runner=recorder, runbook=Runbook("cluster.sh", err=err))
    docker.on("unix:///n2.sock").swarm_join("SWMTKN-1-secret", advertise_addr="10.231.0.12", manager="m:2377")
    assert recorder.calls[-1][-5:] == ("--token", "SWMTKN-1-secret", "--advertise-addr", "10.231.0.12", "m:2377")
    assert recorder.timeouts[-1] == 10.0  # NODE_TIMEOUT: a view on a node without its own
    assert "SWMTKN-1-secret" not in err.getvalue()
    assert "'<token>'" in err.getvalue()


def test_a_view_with_an_environment_runs_every_command_in_it() -> None:
    recorder = ClusterRecorder()
    docker = Docker(runner=recorder, runbook=Runbook("cluster.sh", err=io.StringIO()))
    local = docker.on(env={"PATH": "/usr/bin"})
    local.network("partscat-cluster")
    local.network_remove("partscat-cluster")
    local.containers_stop(["a", "b"], seconds=30)
    docker.network("partscat-cluster")
    assert recorder.envs == [{"PATH": "/usr/bin"}] * 3 + [None]
    assert recorder.calls[2] == ("docker", "stop", "--timeout", "30", "a", "b")
