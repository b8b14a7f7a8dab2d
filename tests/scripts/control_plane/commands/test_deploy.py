"""commands/deploy.py (deploy.sh + postgres-node.sh): the node label, the ports of an old nginx, the secrets,
HTTPS, `docker stack deploy`, every service on its image, the wait; and what a dry run leaves alone."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest

from scripts.control_plane.decisions.secrets import stack_secret_names
from tests.scripts.control_plane.fake_swarm import (
    IMAGES,
    THIS_NODE,
    FakeSwarm,
    Programs,
    checkout,
    events,
    run_cli,
    stack_swarm,
    update_status,
)

LABEL_THIS_NODE = f"docker node update --label-add partscat.postgres=true {THIS_NODE}"
STACK_DEPLOY = (
    "docker stack deploy --compose-file stack.yml --compose-file stack.images.yml --resolve-image never --prune "
    "--detach=true partscat"
)
EDGE_THIS_NODE = f"docker node update --label-add partscat.edge=true {THIS_NODE}"


def fresh_swarm() -> FakeSwarm:
    node = {"ID": THIS_NODE, "Spec": {"Labels": {}}, "Description": {"Hostname": "vm"}, "Status": {"State": "ready"}}
    return FakeSwarm(nodes=[node], images=set(IMAGES.values()))


def test_a_first_deploy_labels_this_node_creates_every_secret_and_converges(tmp_path: Path) -> None:
    swarm = fresh_swarm()
    run = run_cli(swarm, checkout(tmp_path), "deploy")
    assert run.exit_code == 0, run.stderr
    assert "first deploy (no stack, no partscat_pgdata volume, no database secrets)" in run.stderr
    assert swarm.changes[:2] == [LABEL_THIS_NODE, EDGE_THIS_NODE]
    assert "no node carries partscat.edge=true: this node becomes the edge" in run.stderr
    assert swarm.secrets == set(stack_secret_names("partscat"))
    stack_deploy = [change for change in swarm.changes if "stack deploy" in change]
    assert stack_deploy == [STACK_DEPLOY]
    assert "all services of partscat converged and healthy" in run.stderr
    # The live colour on the images built; the idle colour at 0.
    env = swarm.deploy_env
    assert (env["LIVE_COLOUR"], env["DJANGO_BLUE_IMAGE"], env["DJANGO_BLUE_REPLICAS"]) == (
        "blue",
        "partscat/django:d2",
        "2",
    )
    assert (env["DJANGO_GREEN_IMAGE"], env["DJANGO_GREEN_REPLICAS"]) == ("partscat/django:d2", "0")
    assert (env["STACK_NAME"], env["DB_NAME"], env["DB_APP_ROLE"]) == ("partscat", "partscat", "partscat_app")
    assert env["EDGE_SOCKET_IMAGE"] == IMAGES["EDGE_SOCKET_IMAGE"]
    assert "TLS_CERT_SECRET" not in env


def test_a_role_password_and_its_url_share_one_random_value(tmp_path: Path) -> None:
    swarm = fresh_swarm()
    run_cli(swarm, checkout(tmp_path), "deploy")
    password = swarm.secret_values["partscat_db_app_password"]
    assert len(password) == 40 and password.isalnum()
    assert swarm.secret_values["partscat_db_app_url"] == f"postgres://partscat_app:{password}@postgres:5432/partscat"
    assert len(swarm.secret_values["partscat_jobs_api_token"]) == 80
    # Values never reach the log, the argv or the verdict.
    assert all(password not in " ".join(call) for call in swarm.calls)


def test_a_redeploy_keeps_the_label_the_secrets_and_the_idle_colour_and_updates_the_live_one(tmp_path: Path) -> None:
    swarm = stack_swarm(live="green", candidate="green", idle_replicas=2)
    # update.sh put another image on celery-beat: deploy puts it back on the one asked for.
    swarm.services["partscat_celery-beat"]["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] = "partscat/django:other"
    run = run_cli(swarm, checkout(tmp_path), "deploy")
    assert run.exit_code == 0, run.stderr
    assert f"node {THIS_NODE} holds the partscat.postgres label (vm, ready)" in run.stderr
    assert "secrets partscat_db_owner_password, partscat_db_owner_url exist" in run.stderr
    assert "live colour green; idle colour blue keeps 2 + 2 replicas" in run.stderr
    assert swarm.changes == [
        STACK_DEPLOY,
        "docker service update --detach --quiet --no-resolve-image --image partscat/django:d2 partscat_celery-beat",
    ]
    env = swarm.deploy_env
    assert (env["LIVE_COLOUR"], env["CANDIDATE_COLOUR"]) == ("green", "green")
    assert (env["DJANGO_BLUE_IMAGE"], env["DJANGO_BLUE_REPLICAS"]) == ("partscat/django:d1", "2")


@pytest.mark.parametrize(
    ("change", "evidence"),
    [
        ("services", "the stack has services"),
        ("volume", "a pgdata volume exists on this node"),
        ("secrets", "its database secrets exist, so a deploy ran before"),
    ],
)
def test_without_the_label_a_later_deploy_refuses_and_changes_nothing(
    tmp_path: Path, change: str, evidence: str
) -> None:
    swarm = fresh_swarm()
    if change == "services":
        swarm.services = stack_swarm().services
    elif change == "volume":
        swarm.volumes.add("partscat_pgdata")
    else:
        swarm.secrets.add("partscat_db_password")
    verdict = tmp_path / "verdict.json"
    run = run_cli(swarm, checkout(tmp_path), "deploy", "--json", str(verdict))
    assert run.exit_code == 1
    assert swarm.changes == []
    assert evidence in run.stderr
    assert "    docker node update --label-add partscat.postgres=true NODE" in run.stderr
    assert run.stderr.rstrip().endswith(
        "ERROR: refusing to start PostgreSQL on this node with an empty database; "
        "deploy.sh --new-database does exactly that"
    )
    assert json.loads(verdict.read_text())["outcome"] == "refused"


def test_new_database_labels_this_node_when_told_to(tmp_path: Path) -> None:
    swarm = fresh_swarm()
    swarm.volumes.add("partscat_pgdata")
    run = run_cli(swarm, checkout(tmp_path), "deploy", "--new-database")
    assert run.exit_code == 0, run.stderr
    assert "uses the partscat_pgdata volume already here" in run.stderr
    assert swarm.changes[0] == LABEL_THIS_NODE


def test_two_labelled_nodes_are_refused(tmp_path: Path) -> None:
    swarm = stack_swarm()
    other = copy.deepcopy(swarm.nodes[0])
    other["ID"] = "node-other"
    swarm.nodes.append(other)
    run = run_cli(swarm, checkout(tmp_path), "deploy", "--new-database")
    assert run.exit_code == 1
    assert "several nodes carry partscat.postgres=true (node-here node-other)" in run.stderr
    assert swarm.changes == []


def test_a_half_made_secret_pair_stops_the_deploy_before_any_secret_is_made(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.secrets -= {"partscat_db_app_url", "partscat_jobs_api_token"}
    run = run_cli(swarm, checkout(tmp_path), "deploy")
    assert run.exit_code == 1
    assert (
        "only one of partscat_db_app_password / partscat_db_app_url exists; remove it (docker secret rm)" in run.stderr
    )
    assert swarm.changes == []


def test_a_secret_made_by_a_concurrent_deploy_is_fine(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.secrets.discard("partscat_jobs_api_token")
    swarm.secret_create_code = 1
    run = run_cli(swarm, checkout(tmp_path), "deploy")
    assert run.exit_code == 0, run.stderr
    assert "secret partscat_jobs_api_token was created concurrently" in run.stderr


def test_an_nginx_that_publishes_the_port_itself_is_unpublished_first(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.services["partscat_nginx"]["Spec"]["EndpointSpec"]["Ports"] = [
        {"Protocol": "tcp", "TargetPort": 8080, "PublishedPort": 8080, "PublishMode": "host"}
    ]
    run = run_cli(swarm, checkout(tmp_path), "deploy")
    assert run.exit_code == 0, run.stderr
    assert "nginx publishes port(s) 8080 itself (a stack from before the socket holder)" in run.stderr
    assert swarm.changes[0] == "docker service update --detach --quiet --publish-rm 8080 partscat_nginx"


def test_a_redeploy_keeps_the_certificate_the_nginx_service_has(tmp_path: Path) -> None:
    swarm = stack_swarm()
    secrets = [
        {"File": {"Name": "tls_cert"}, "SecretName": "partscat_tls_cert_abc"},
        {"File": {"Name": "tls_key"}, "SecretName": "partscat_tls_key_abc"},
    ]
    swarm.services["partscat_nginx"]["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"] = secrets
    run = run_cli(swarm, checkout(tmp_path), "deploy")
    assert run.exit_code == 0, run.stderr
    assert "HTTPS: keeping the certificate the nginx service uses (partscat_tls_cert_abc)" in run.stderr
    assert "--compose-file stack.yml --compose-file stack.images.yml --compose-file stack.tls.yml" in swarm.changes[0]
    assert (swarm.deploy_env["TLS_CERT_SECRET"], swarm.deploy_env["TLS_KEY_SECRET"]) == (
        "partscat_tls_cert_abc",
        "partscat_tls_key_abc",
    )
    off = run_cli(swarm, tmp_path, "deploy", environ={"TLS_DISABLE": "1"})
    assert "TLS_DISABLE=1: plain HTTP only" in off.stderr
    assert "stack.tls.yml" not in swarm.changes[-1]


def test_a_certificate_becomes_secrets_named_by_its_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scripts.control_plane.commands.deploy.shutil.which", lambda _name: "/usr/bin/openssl")
    root = checkout(tmp_path)
    (root / "cert.pem").write_text("CERT")
    (root / "key.pem").write_text("KEY")
    digest = hashlib.sha256(b"CERT").hexdigest()[:12]
    swarm = stack_swarm()
    programs = Programs(outputs={"x509": "PUBLIC\n", "pkey": "PUBLIC\n"})
    tls = {"TLS_CERT_FILE": "cert.pem", "TLS_KEY_FILE": "key.pem"}
    run = run_cli(swarm, root, "deploy", environ=tls, programs=programs)
    assert run.exit_code == 0, run.stderr
    assert f"HTTPS: certificate cert.pem as partscat_tls_cert_{digest}" in run.stderr
    assert swarm.changes[:2] == [
        f"docker secret create --label com.docker.stack.namespace=partscat partscat_tls_cert_{digest} {root}/cert.pem",
        f"docker secret create --label com.docker.stack.namespace=partscat partscat_tls_key_{digest} {root}/key.pem",
    ]
    mismatched = Programs(outputs={"x509": "PUBLIC\n", "pkey": "OTHER\n"})
    refused = run_cli(stack_swarm(), root, "deploy", environ=tls, programs=mismatched)
    assert refused.exit_code == 1
    assert "TLS_KEY_FILE key.pem is not the key of the certificate in TLS_CERT_FILE cert.pem" in refused.stderr


@pytest.mark.parametrize(
    ("tls", "message"),
    [
        ({"TLS_CERT_FILE": "cert.pem"}, "give both TLS_CERT_FILE and TLS_KEY_FILE, or neither"),
        (
            {"TLS_CERT_FILE": "no.pem", "TLS_KEY_FILE": "no.key"},
            "no.pem (TLS_CERT_FILE or TLS_KEY_FILE) is not a readable file",
        ),
    ],
)
def test_tls_files_are_checked_before_anything_changes(tmp_path: Path, tls: dict[str, str], message: str) -> None:
    swarm = stack_swarm()
    run = run_cli(swarm, checkout(tmp_path), "deploy", environ=tls)
    assert run.exit_code == 1
    assert message in run.stderr
    assert swarm.changes == []


def test_an_update_that_rolls_back_fails_the_deploy_with_the_tasks_shown(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.services["partscat_celery-beat"]["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] = "partscat/django:other"
    swarm.scripted_updates["partscat_celery-beat"] = [update_status("rollback_completed", message="rollback completed")]
    verdict = tmp_path / "verdict.json"
    run = run_cli(swarm, checkout(tmp_path), "deploy", "--json", str(verdict))
    assert run.exit_code == 1
    assert "update failed: partscat_celery-beat: rollback_completed: rollback completed" in run.stderr
    assert "partscat_celery-beat.1 partscat/django:d2 Running" in run.stderr
    document = json.loads(verdict.read_text())
    assert (document["ok"], document["outcome"]) == (False, "update_failed")
    assert "update_rolled_back" in [event["event"] for event in events(tmp_path)]


def test_a_deploy_that_does_not_converge_times_out(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.shown_replicas["partscat_fastapi-blue"] = "1/2"
    run = run_cli(swarm, checkout(tmp_path), "deploy", environ={"DEPLOY_TIMEOUT_SECONDS": "10"})
    assert run.exit_code == 1
    assert "not converged after 10s: fastapi-blue(1/2)" in run.stderr


def test_without_images_built_deploy_says_what_to_run(tmp_path: Path) -> None:
    run = run_cli(stack_swarm(), tmp_path, "deploy")
    assert run.exit_code == 1
    assert f"{tmp_path}/.cache/images.env missing; run scripts/build-images.sh first" in run.stderr


def test_usage(tmp_path: Path) -> None:
    run = run_cli(stack_swarm(), checkout(tmp_path), "deploy", "--fresh")
    assert run.exit_code == 1
    assert "ERROR: usage: deploy.sh [--new-database]" in run.stderr


def test_a_dry_run_prints_what_a_deploy_would_run_and_changes_nothing(tmp_path: Path) -> None:
    swarm = stack_swarm()
    swarm.secrets.discard("partscat_redis_password")
    swarm.services["partscat_celery-beat"]["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] = "partscat/django:other"
    before = copy.deepcopy(swarm.services)
    verdict = tmp_path / "verdict.json"
    run = run_cli(swarm, checkout(tmp_path), "--dry-run", "deploy", "--json", str(verdict))
    assert run.exit_code == 0, run.stderr
    assert swarm.changes == []
    assert swarm.services == before
    assert "partscat_redis_password" not in swarm.secrets
    would = [line for line in run.stderr.splitlines() if line.endswith("# dry run: not run")]
    assert [line.split(" + ", 1)[1].split("  #")[0] for line in would] == [
        "docker secret create --label com.docker.stack.namespace=partscat partscat_redis_password -",
        STACK_DEPLOY,
        "docker service update --detach --quiet --no-resolve-image --image partscat/django:d2 partscat_celery-beat",
    ]
    assert "dry run: stack.yml's variables: LIVE_COLOUR=blue" in run.stderr
    assert "dry run: not waiting for the services of partscat to converge" in run.stderr
    document = json.loads(verdict.read_text())
    assert document["dry_run"] is True
    assert [change["ran"] for change in document["changes"]] == [False, False, False]
    assert events(tmp_path) == []


def test_with_registry_and_tag_every_image_comes_from_the_registry_with_its_login(tmp_path: Path) -> None:
    swarm = stack_swarm()
    registry = {"REGISTRY": "registry.example:5443", "TAG": "abc1234"}
    names = ("nginx", "edge-socket", "django", "fastapi")
    swarm.registry = {f"registry.example:5443/partscat/{name}:abc1234" for name in names}
    # PostgreSQL and Redis by their own tags: a release does not restart them.
    swarm.registry |= {"registry.example:5443/partscat/postgres:15", "registry.example:5443/partscat/redis:7"}
    run = run_cli(swarm, checkout(tmp_path), "deploy", environ=registry)
    assert run.exit_code == 0, run.stderr
    assert "the registry registry.example:5443 gives every image of abc1234" in run.stderr
    stack_deploy = [change for change in swarm.changes if "stack deploy" in change]
    assert stack_deploy == [
        "docker stack deploy --compose-file stack.yml --compose-file stack.images.yml --with-registry-auth "
        "--resolve-image always --prune --detach=true partscat"
    ]
    env = swarm.deploy_env
    assert (env["REGISTRY"], env["TAG"]) == ("registry.example:5443", "abc1234")
    assert env["NGINX_IMAGE"] == "registry.example:5443/partscat/nginx:abc1234"
    assert (env["POSTGRES_IMAGE"], env["REDIS_IMAGE"]) == (
        "registry.example:5443/partscat/postgres:15",
        "registry.example:5443/partscat/redis:7",
    )
    assert env["EDGE_SOCKET_IMAGE"] == "registry.example:5443/partscat/edge-socket:abc1234"
    # The live colour takes the release; the idle colour keeps what it runs.
    assert env["DJANGO_BLUE_IMAGE"] == "registry.example:5443/partscat/django:abc1234"
    assert (
        env["DJANGO_GREEN_IMAGE"]
        == swarm.services["partscat_django-green"]["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    )


def test_a_replicated_nginx_from_before_the_cluster_is_removed_once_after_its_colour_is_read(tmp_path: Path) -> None:
    swarm = stack_swarm(live="green")
    nginx = swarm.services["partscat_nginx"]["Spec"]
    nginx["Mode"] = {"Replicated": {"Replicas": 1}}
    run = run_cli(swarm, checkout(tmp_path), "deploy")
    assert run.exit_code == 0, run.stderr
    assert "removing it once to make it global" in run.stderr
    removal = swarm.changes.index("docker service rm partscat_nginx")
    assert "stack deploy" in swarm.changes[removal + 1]
    # The live colour came from its labels before they went with it.
    assert swarm.deploy_env["LIVE_COLOUR"] == "green"


@pytest.mark.parametrize("registry_up", [True, False])
def test_a_release_the_registry_cannot_give_changes_nothing(tmp_path: Path, registry_up: bool) -> None:
    swarm = stack_swarm()
    swarm.registry_up = registry_up
    registry = {"REGISTRY": "registry.example:5443", "TAG": "never-pushed"}
    run = run_cli(swarm, checkout(tmp_path), "deploy", environ=registry)
    assert run.exit_code == 1
    assert swarm.changes == []
    reason = "manifest unknown" if registry_up else "connection refused"
    assert "the registry cannot give registry.example:5443/partscat/django:never-pushed: " in run.stderr
    assert reason in run.stderr
    assert run.stderr.splitlines()[-1].endswith("6 image(s) of the release cannot be pulled; nothing was changed")


def test_a_registry_without_a_tag_deploys_nothing(tmp_path: Path) -> None:
    swarm = stack_swarm()
    run = run_cli(swarm, checkout(tmp_path), "deploy", environ={"REGISTRY": "registry.example:5443"})
    assert run.exit_code == 1
    assert swarm.changes == []
    assert "REGISTRY is registry.example:5443: set TAG to the release to deploy" in run.stderr
