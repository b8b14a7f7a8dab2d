"""decisions/images.py: build-images.sh's arguments, base mode, tag rule, build plans, stamps, push plan and the
files it writes, as plain functions."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from scripts.control_plane.decisions import images
from scripts.control_plane.decisions.images import BuildArgumentsError, BuildRequest, PushStep


def test_no_arguments_build_the_stack() -> None:
    assert images.build_arguments_parse([]) == BuildRequest()
    assert images.build_arguments_parse(["--cluster"]) == BuildRequest(cluster=True)
    assert images.build_arguments_parse(["--push", "r.example:5443", "--tag", "v1.2_3"]) == BuildRequest(
        "r.example:5443", "v1.2_3"
    )
    # The tag defaults to the commit, filled in by the command.
    assert images.build_arguments_parse(["--push", "r.example:5443"]).push_tag == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--push"], "--push needs a registry (host[:port], as in an image name)"),
        (["--push", ""], "--push needs a registry (host[:port], as in an image name)"),
        (["--push", "r:5000", "--tag"], "--tag needs a tag"),
        (["--tag", "x"], "--tag goes with --push REGISTRY"),
        (["--push", "r:5000", "--cluster"], "--cluster builds the cluster's own images; they are not pushed"),
        (["--push", "http://r"], "REGISTRY is a host[:port], as in an image name (got http://r)"),
        (["--push", "r:5000/"], "REGISTRY is a host[:port], as in an image name (got r:5000/)"),
        (["--push", "r 5000"], "REGISTRY is a host[:port], as in an image name (got r 5000)"),
        (["--push", "r:5000", "--tag", "bad/tag"], "not a valid image tag: bad/tag"),
        (["--push", "r:5000", "--tag", ".dot"], "not a valid image tag: .dot"),
        (["--push", "r:5000", "--tag", "x" * 129], f"not a valid image tag: {'x' * 129}"),
    ],
)
def test_refused_arguments_exit_1_with_the_bash_message(args: list[str], message: str) -> None:
    with pytest.raises(BuildArgumentsError) as refused:
        images.build_arguments_parse(args)
    assert (refused.value.message, refused.value.exit_code, refused.value.usage) == (message, 1, False)


def test_an_unknown_argument_and_help_print_the_usage_and_exit_64() -> None:
    with pytest.raises(BuildArgumentsError) as unknown:
        images.build_arguments_parse(["--bogus"])
    assert (unknown.value.message, unknown.value.exit_code, unknown.value.usage) == (
        "unknown argument: --bogus",
        64,
        True,
    )
    for flag in ("-h", "--help"):
        with pytest.raises(BuildArgumentsError) as usage:
            images.build_arguments_parse([flag])
        assert (usage.value.message, usage.value.exit_code, usage.value.usage) == (None, 64, True)
    assert images.USAGE.splitlines()[0].startswith("  build-images.sh      ")


def test_base_mode() -> None:
    assert [images.base_mode(value) for value in ("", "auto", "registry", "offline")] == [
        "auto",
        "auto",
        "registry",
        "offline",
    ]
    with pytest.raises(BuildArgumentsError, match=r"must be auto, registry or offline \(got online\)"):
        images.base_mode("online")


def test_a_cluster_node_is_no_place_to_build() -> None:
    assert images.docker_host_is_cluster_node("unix:///run/partscat-cluster/manager.sock")
    assert not images.docker_host_is_cluster_node("")
    assert not images.docker_host_is_cluster_node("unix:///var/run/docker.sock")


def test_the_tag_is_the_commit_and_dirty_adds_the_content_hash() -> None:
    assert images.image_tag("abc1234\n", False, "") == "abc1234"
    assert images.image_tag("abc1234", True, "0123456789") == "abc1234-dirty-0123456789"
    # No commit touches the inputs yet (all new).
    assert images.image_tag("", True, "0123456789") == "0000000-dirty-0123456789"


def test_the_content_hash_is_of_each_file_digest_and_path_in_byte_order() -> None:
    files = [("b.txt", "2" * 64), ("B.txt", "1" * 64), ("a b.txt", "3" * 64)]
    lines = f"{'1' * 64} B.txt\n{'3' * 64} a b.txt\n{'2' * 64} b.txt\n"
    assert images.content_hash(files) == hashlib.sha256(lines.encode()).hexdigest()[:10]
    assert images.content_hash(reversed(files)) == images.content_hash(files)
    assert images.content_hash([]) == hashlib.sha256(b"").hexdigest()[:10]


def test_the_content_hash_is_the_bash_pipeline_s(tmp_path: Path) -> None:
    """`printf '%s %s\\n' "$(sha256sum <f | cut -d' ' -f1)" "$f" | sha256sum | cut -c1-10` over sort -z."""
    names = ["Zz new.txt", "a_b.txt", "A-b.txt", "ä.txt"]
    for name in names:
        (tmp_path / name).write_text(name)
    script = (
        "printf '%s\\0' \"$@\" | LC_ALL=C sort -z | while IFS= read -r -d '' f; do "
        'printf \'%s %s\\n\' "$(sha256sum <"$f" | cut -d\' \' -f1)" "$f"; done | sha256sum | cut -c1-10'
    )
    bash = subprocess.run(
        ["bash", "-c", script, "hash", *names], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    files = [(name, hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()) for name in names]
    assert images.content_hash(files) == bash


def test_an_app_image_gets_the_wheels_and_its_release_tag() -> None:
    plan = images.build_plan(images.DJANGO, "abc1234", "partscat/python-base:p1")
    assert plan.reference == "partscat/django:abc1234"
    assert plan.build_args == (("PYTHON_BASE", "partscat/python-base:p1"), ("PARTSCAT_RELEASE_TAG", "abc1234"))
    assert plan.labels == (
        ("org.opencontainers.image.revision", "abc1234"),
        ("org.opencontainers.image.source", "partscat"),
    )
    assert plan.context == (
        ".cache/wheelhouse", ".cache/project-wheel", "scripts/images/django.Dockerfile",
        "scripts/images/app-entrypoint.sh", "healthcheck", "requirements/django.txt", "pyproject.toml", "app",
        "search_contract", "service_common",
    )  # fmt: skip


def test_a_dockerfile_inside_an_input_folder_goes_in_once() -> None:
    nginx = images.build_plan(images.NGINX, "n1", "debian:bookworm-slim")
    assert nginx.context == ("nginx", "healthcheck")
    assert nginx.build_args == (("DEBIAN_BASE", "debian:bookworm-slim"),)
    edge = images.build_plan(images.EDGE_SOCKET, "e1", "python:3.11-slim")
    assert edge.context == ("nginx/socket_holder.Dockerfile", "nginx/socket_holder.py")


def test_every_image_and_its_tag_inputs() -> None:
    assert [spec.name for _variable, spec in images.STACK_IMAGES] == list(images.IMAGE_NAMES.values())
    assert images.POSTGRES.tag_inputs == (
        "scripts/images/postgres.Dockerfile",
        "scripts/images/postgres-entrypoint.sh",
        "scripts/images/postgres-roles.sql",
    )
    assert images.PYTHON_BASE.tag_inputs == ("scripts/images/python-base.Dockerfile",)
    assert [spec.name for spec in images.CLUSTER_IMAGES] == ["node", "registry"]


def test_the_wheelhouse_stamp_is_the_bash_s(tmp_path: Path) -> None:
    """`(cat django.txt fastapi.txt; echo "${WHEEL_PLATFORM_ARGS[*]}") | sha256sum`."""
    (tmp_path / "d.txt").write_text("django==5.2 \\\n    --hash=sha256:aa\n")
    (tmp_path / "f.txt").write_text("fastapi==0.115\n")
    args = " ".join(images.WHEEL_PLATFORM_ARGS)
    bash = subprocess.run(
        ["bash", "-c", f"(cat d.txt f.txt; echo '{args}') | sha256sum | cut -d' ' -f1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert images.wheelhouse_stamp([(tmp_path / "d.txt").read_bytes(), (tmp_path / "f.txt").read_bytes()]) == bash
    assert images.build_venv_stamp(b"setuptools==80\n") == hashlib.sha256(b"setuptools==80\n").hexdigest()


def test_a_stamp_is_current_when_the_file_holds_the_key() -> None:
    assert images.stamp_current("abc\n", "abc")
    assert images.stamp_current("abc", "abc")
    assert not images.stamp_current("abd\n", "abc")
    assert not images.stamp_current(None, "abc")


def test_pip_noise_is_dropped() -> None:
    text = "Looking in links: /x\nLocation '/x' is ignored: it is neither a file nor a directory.\nreal error\n"
    assert images.pip_output_kept(text) == "Looking in links: /x\nreal error\n"


def test_the_push_plan_is_every_image_in_order_and_the_data_tags() -> None:
    refs = {
        "POSTGRES_IMAGE": "partscat/postgres:p1",
        "REDIS_IMAGE": "partscat/redis:r1",
        "NGINX_IMAGE": "partscat/nginx:n1-dirty-0123456789",
        "EDGE_SOCKET_IMAGE": "partscat/edge-socket:e1",
        "DJANGO_IMAGE": "partscat/django:d1",
        "FASTAPI_IMAGE": "partscat/fastapi:f1",
    }
    assert images.push_plan("r.example:5443", "v1", refs) == [
        PushStep("partscat/postgres:p1", "r.example:5443/partscat/postgres:v1"),
        PushStep("partscat/postgres:p1", "r.example:5443/partscat/postgres:15"),
        PushStep("partscat/redis:r1", "r.example:5443/partscat/redis:v1"),
        PushStep("partscat/redis:r1", "r.example:5443/partscat/redis:7"),
        PushStep("partscat/nginx:n1-dirty-0123456789", "r.example:5443/partscat/nginx:v1", dirty=True),
        PushStep("partscat/edge-socket:e1", "r.example:5443/partscat/edge-socket:v1"),
        PushStep("partscat/django:d1", "r.example:5443/partscat/django:v1"),
        PushStep("partscat/fastapi:f1", "r.example:5443/partscat/fastapi:v1"),
    ]


def test_the_digest_pushed_is_the_target_repository_s() -> None:
    digests = [
        "other.example/partscat/django@sha256:000",
        "r.example:5443/partscat/django@sha256:abc",
    ]
    assert images.repository("r.example:5443/partscat/django:v1") == "r.example:5443/partscat/django"
    assert images.repository("r.example:5443/partscat/django") == "r.example:5443/partscat/django"
    assert images.repository("r.example:5443/partscat/django@sha256:abc") == "r.example:5443/partscat/django"
    assert images.pushed_digest("r.example:5443/partscat/django:v1", digests) == "sha256:abc"
    assert images.pushed_digest("r.example:5443/partscat/fastapi:v1", digests) == ""


def test_a_registry_answers_with_a_page_or_a_401() -> None:
    assert images.registry_answered(0, "")
    assert images.registry_answered(22, "curl: (22) The requested URL returned error: 401")
    assert not images.registry_answered(7, "curl: (7) Failed to connect")
    assert not images.registry_answered(22, "curl: (22) The requested URL returned error: 404")


def test_the_files_written() -> None:
    refs = {variable: f"partscat/{name}:t" for variable, name in images.IMAGE_NAMES.items()}
    assert images.images_env_text(refs) == (
        "# Written by scripts/build-images.sh; read by scripts/deploy.sh for stack.yml.\n"
        "POSTGRES_IMAGE=partscat/postgres:t\nREDIS_IMAGE=partscat/redis:t\nNGINX_IMAGE=partscat/nginx:t\n"
        "EDGE_SOCKET_IMAGE=partscat/edge-socket:t\nDJANGO_IMAGE=partscat/django:t\nFASTAPI_IMAGE=partscat/fastapi:t\n"
    )
    assert images.cluster_images_env_text("partscat/node:a", "partscat/registry:a") == (
        "# Written by scripts/build-images.sh --cluster; read by scripts/cluster.sh.\n"
        "NODE_IMAGE=partscat/node:a\nREGISTRY_IMAGE=partscat/registry:a\n"
    )
    assert images.offline_sources_list("http://m/debian", "http://m/debian-security") == (
        "deb http://m/debian bookworm main\ndeb http://m/debian bookworm-updates main\n"
        "deb http://m/debian-security bookworm-security main\n"
    )
