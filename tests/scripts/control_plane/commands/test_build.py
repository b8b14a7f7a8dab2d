"""commands/build.py (build-images.sh, `make push`): on a small git checkout, with the fake swarm as docker and
a recording runner for pip, tar, curl and debootstrap (git runs for real)."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scripts.control_plane.commands import build
from scripts.control_plane.decisions import images
from scripts.control_plane.docker import Completed, Output, subprocess_runner
from tests.scripts.control_plane.fake_swarm import FakeSwarm, Run, context, run_cli

# build-images.sh's image_tag and content_hash as the bash had them: the tags must stay these.
BASH_IMAGE_TAG = r"""
image_tag() {
    local sha dirty
    sha="$(git log -1 --format=%h -- "$@" 2>/dev/null || true)"
    [ -n "${sha}" ] || sha="0000000"
    dirty="$(git status --porcelain --untracked-files=all -- "$@" 2>/dev/null || echo unknown)"
    if [ -n "${dirty}" ]; then
        printf '%s-dirty-%s' "${sha}" "$(content_hash "$@")"
    else
        printf '%s' "${sha}"
    fi
}
content_hash() {
    git ls-files -z --cached --others --exclude-standard -- "$@" | sort -z | while IFS= read -r -d '' f; do
        [ -f "${f}" ] && printf '%s %s\n' "$(sha256sum <"${f}" | cut -d' ' -f1)" "${f}"
    done | sha256sum | cut -c1-10
}
image_tag "$@"
"""

DOCKERFILES = (
    "node",
    "registry",
    "python-base",
    "postgres-base",
    "redis-base",
    "postgres",
    "redis",
    "django",
    "fastapi",
)
FILES = {
    **{f"scripts/images/{name}.Dockerfile": f"FROM {name}\n" for name in DOCKERFILES},
    "scripts/images/node-entrypoint.sh": "#!/bin/sh\n",
    "scripts/images/registry-config.yml": "version: 0.1\n",
    "scripts/images/postgres-entrypoint.sh": "#!/bin/sh\n",
    "scripts/images/postgres-roles.sql": "select 1;\n",
    "scripts/images/redis-entrypoint.sh": "#!/bin/sh\n",
    "scripts/images/app-entrypoint.sh": "#!/bin/sh\n",
    "nginx/Dockerfile": "FROM debian\n",
    "nginx/nginx.conf": "events {}\n",
    "nginx/socket_holder.Dockerfile": "FROM python\n",
    "nginx/socket_holder.py": "print()\n",
    "healthcheck/http_probe.py": "print()\n",
    "requirements/django.txt": "django==5.2\n",
    "requirements/fastapi.txt": "fastapi==0.115\n",
    "requirements/build.txt": "setuptools==80\n",
    "pyproject.toml": "[project]\nname = 'x'\n",
    "app/manage.py": "print()\n",
    "app/staticfiles/x.css": "body {}\n",
    "fastapi_search/__init__.py": "",
    "search_contract/__init__.py": "",
    "service_common/__init__.py": "",
}
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]


def repo(root: Path) -> Path:
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / ".gitignore").write_text(".cache/\n")
    subprocess.run([*GIT, "init", "-q"], cwd=root, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", "first"], cwd=root, check=True)
    return root


def head(root: Path) -> str:
    return subprocess.run(
        ["git", "log", "-1", "--format=%h"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()


def bash_tag(root: Path, paths: Sequence[str]) -> str:
    return subprocess.run(
        ["bash", "-c", BASH_IMAGE_TAG, "image_tag", *paths], cwd=root, capture_output=True, text=True, check=True
    ).stdout


@dataclass
class Programs:
    """git for real; the others recorded (exit 0, or `codes` by a word of the command line). debootstrap makes
    the few folders a root file system has; the rootfs tar records what the tree held."""

    calls: list[tuple[str, ...]] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    rootfs: list[str] = field(default_factory=list)

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
        if argv[0] == "git":
            return subprocess_runner(argv, cwd=cwd)
        self.calls.append(tuple(argv))
        line = " ".join(argv)
        if argv[0] == "debootstrap":
            rootfs = Path(argv[3])
            for folder in ("etc/apt/apt.conf.d", "etc/dpkg/dpkg.cfg.d", "var/cache/apt/archives", "usr/share/doc/a"):
                (rootfs / folder).mkdir(parents=True)
            (rootfs / "var/cache/apt/archives/x.deb").write_text("deb")
        if tuple(argv[:2]) == ("tar", "-C"):
            rootfs = Path(argv[2])
            self.rootfs = sorted(str(path.relative_to(rootfs)) for path in rootfs.rglob("*"))
        code = next((code for key, code in self.codes.items() if key in line), 0)
        return Completed(code, "", next((text for key, text in self.errors.items() if key in line), ""))

    def ran(self, program: str) -> list[tuple[str, ...]]:
        return [call for call in self.calls if call[0] == program or call[-1].endswith(program)]


def built_swarm(root: Path, *skip: str) -> FakeSwarm:
    """A swarm whose engine holds every image of this checkout's commit but `skip`, and the offline base."""
    tag = head(root)
    specs = [*images.CLUSTER_IMAGES, *images.OFFLINE_BASES, *(spec for _variable, spec in images.STACK_IMAGES)]
    return FakeSwarm(
        images={images.OFFLINE_DEBIAN_BASE, *(f"partscat/{spec.name}:{tag}" for spec in specs if spec.name not in skip)}
    )


def build_run(
    swarm: FakeSwarm,
    root: Path,
    *args: str,
    programs: Programs | None = None,
    environ: Mapping[str, str] | None = None,
    **variables: str,
) -> tuple[Run, Programs]:
    programs = programs or Programs()
    settings = {"PARTSCAT_BASE_MODE": "offline", **(environ or {}), **variables}
    return run_cli(swarm, root, "build", *args, environ=settings, programs=programs), programs  # type: ignore[arg-type]


def builds(swarm: FakeSwarm) -> list[tuple[str, ...]]:
    return [call for call in swarm.calls if call[1] == "build"]


def test_the_tags_are_the_bash_tags_clean_and_dirty(tmp_path: Path) -> None:
    root = repo(tmp_path)
    ctx = context(FakeSwarm(), root)
    ctx.programs = subprocess_runner
    every = [*images.CLUSTER_IMAGES, *images.OFFLINE_BASES, *(spec for _variable, spec in images.STACK_IMAGES)]
    assert [build.tag_for(ctx, spec.tag_inputs) for spec in every] == [
        bash_tag(root, spec.tag_inputs) for spec in every
    ]
    # Changed, new (with names sort and the locale would order differently), deleted, and a commit touching one.
    (root / "nginx/socket_holder.py").write_text("print(1)\n")
    for name in ("healthcheck/Zz new.txt", "healthcheck/a_b.txt", "healthcheck/A-b.txt", "app/ä.py"):
        (root / name).write_text(name)
    (root / "scripts/images/redis-entrypoint.sh").unlink()
    tags = [build.tag_for(ctx, spec.tag_inputs) for spec in every]
    assert tags == [bash_tag(root, spec.tag_inputs) for spec in every]
    assert sum("-dirty-" in tag for tag in tags) == 5  # redis, nginx, edge-socket, django, fastapi
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", "second"], cwd=root, check=True)
    tags = [build.tag_for(ctx, spec.tag_inputs) for spec in every]
    assert tags == [bash_tag(root, spec.tag_inputs) for spec in every]
    assert tags[0] != tags[-1] and "-dirty-" not in "".join(tags)


def test_what_is_missing_is_built_from_its_inputs_and_images_env_written(tmp_path: Path) -> None:
    root = repo(tmp_path)
    tag = head(root)
    swarm = built_swarm(root, "django", "nginx")
    run, programs = build_run(swarm, root)
    assert run.exit_code == 0, run.stderr
    assert [call[call.index("-t") + 1] for call in builds(swarm)] == [f"partscat/nginx:{tag}", f"partscat/django:{tag}"]
    django = builds(swarm)[1]
    pairs = list(itertools.pairwise(django))
    assert django[:5] == ("docker", "build", "--quiet", "-f", "scripts/images/django.Dockerfile")
    assert ("--build-arg", f"PYTHON_BASE=partscat/python-base:{tag}") in pairs
    assert ("--build-arg", f"PARTSCAT_RELEASE_TAG={tag}") in pairs
    assert ("--label", f"org.opencontainers.image.revision={tag}") in pairs
    assert ("--label", "org.opencontainers.image.source=partscat") in pairs
    contexts = [call for call in programs.calls if call[:3] == ("tar", "-c", "-f")]
    assert contexts[1][4:] == (
        "--exclude=__pycache__", "--exclude=*.pyc", "--exclude=.pytest_cache", "--exclude=.mypy_cache",
        *images.build_plan(images.DJANGO, tag, "b").context,
    )  # fmt: skip
    assert contexts[1][3] == str(swarm.stdin_files[1])
    assert f"[build-images.sh] partscat/postgres:{tag} already built" in run.stderr
    assert f"[build-images.sh] building partscat/django:{tag}" in run.stderr
    assert f"[build-images.sh] built partscat/django:{tag} in 0s" in run.stderr
    env = (root / ".cache/images.env").read_text()
    assert env == images.images_env_text(
        {variable: f"partscat/{name}:{tag}" for variable, name in images.IMAGE_NAMES.items()}
    )
    assert not (root / ".cache/images.env.tmp").exists()
    assert f"[build-images.sh] image references written to {root}/.cache/images.env:\nPOSTGRES_IMAGE=" in run.stderr
    # The wheels: two downloads, the build venv and the project's wheel from a copy of the sources.
    assert [call[:4] for call in programs.calls if "pip" in " ".join(call[:3])] == [
        ("python3", "-m", "pip", "download"),
        ("python3", "-m", "pip", "download"),
        (f"{root}/.cache/build-venv/bin/pip", "install", "--quiet", "--disable-pip-version-check"),
        (f"{root}/.cache/build-venv/bin/pip", "wheel", "--quiet", "--disable-pip-version-check"),
    ]
    assert (root / ".cache/wheelhouse/.requirements.sha256").read_text().strip() == images.wheelhouse_stamp(
        [(root / name).read_bytes() for name in images.WHEEL_REQUIREMENTS]
    )
    assert run.stdout == ""


def test_a_second_run_builds_nothing_and_keeps_the_wheelhouse(tmp_path: Path) -> None:
    root = repo(tmp_path)
    swarm = built_swarm(root)
    run, _programs = build_run(swarm, root)
    assert run.exit_code == 0, run.stderr
    (root / ".cache/build-venv/bin").mkdir(parents=True)
    (root / ".cache/build-venv/bin/pip").write_text("#!/bin/sh\n")
    (root / ".cache/build-venv/bin/pip").chmod(0o755)
    again, programs = build_run(swarm, root)
    assert again.exit_code == 0, again.stderr
    assert builds(swarm) == []
    assert f"wheelhouse up to date ({root}/.cache/wheelhouse)" in again.stderr
    assert [call[1] for call in programs.calls] == ["wheel"]  # only the project's wheel, afresh every run


def test_registry_mode_pulls_the_public_bases(tmp_path: Path) -> None:
    root = repo(tmp_path)
    swarm = built_swarm(root, "postgres")
    swarm.registry = {"debian:bookworm-slim", "python:3.11-slim", "postgres:15-bookworm", "site/redis:7"}
    run, _programs = build_run(swarm, root, PARTSCAT_BASE_MODE="registry", OFFICIAL_REDIS_IMAGE="site/redis:7")
    assert run.exit_code == 0, run.stderr
    assert [call[-1] for call in swarm.calls if call[1] == "pull"] == [
        "debian:bookworm-slim", "python:3.11-slim", "postgres:15-bookworm", "site/redis:7",
    ]  # fmt: skip
    assert "[build-images.sh] base mode: registry" in run.stderr
    (postgres,) = builds(swarm)
    assert "POSTGRES_BASE=postgres:15-bookworm" in postgres


@pytest.mark.parametrize(("registry_up", "mode"), [(True, "registry"), (False, "offline")])
def test_auto_probes_the_registry(tmp_path: Path, registry_up: bool, mode: str) -> None:
    root = repo(tmp_path)
    swarm = built_swarm(root)
    swarm.registry = {"debian:bookworm-slim", "python:3.11-slim", "postgres:15-bookworm", "redis:7-bookworm"}
    swarm.registry_up = registry_up
    run, _programs = build_run(swarm, root, PARTSCAT_BASE_MODE="")
    assert run.exit_code == 0, run.stderr
    assert "probing the registry (docker pull debian:bookworm-slim, 20s timeout)" in run.stderr
    assert f"[build-images.sh] base mode: {mode}" in run.stderr


def test_the_offline_base_is_debootstrapped_from_the_mirror_and_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    root = repo(tmp_path)
    swarm = built_swarm(root)
    swarm.images.discard(images.OFFLINE_DEBIAN_BASE)
    mirrors = {"DEBIAN_MIRROR": "http://m/debian", "DEBIAN_SECURITY_MIRROR": "http://m/security"}
    run, programs = build_run(swarm, root, "--cluster", environ=mirrors)
    assert run.exit_code == 0, run.stderr
    assert programs.calls[:3] == [
        ("apt-get", "update"),
        ("apt-get", "install", "-y", "debootstrap"),
        ("debootstrap", "--variant=minbase", "bookworm", programs.calls[2][3], "http://m/debian"),
    ]
    assert "Debian mirrors: http://m/debian, http://m/security" in run.stderr
    # What went into the image: the apt and dpkg settings; no cached package, no docs.
    assert "etc/apt/sources.list" in programs.rootfs
    assert "etc/dpkg/dpkg.cfg.d/90partscat-nodoc" in programs.rootfs
    assert not any(name.startswith(("var/cache/apt/archives/", "usr/share/doc/")) for name in programs.rootfs)
    (imported,) = [call for call in swarm.calls if call[1] == "import"]
    assert imported == (
        "docker", "import", "--change", images.OFFLINE_IMPORT_CHANGES[0], "--change", 'CMD ["bash"]', "-",
        images.OFFLINE_DEBIAN_BASE,
    )  # fmt: skip
    assert "offline base built in" in run.stderr


def test_cluster_builds_the_node_and_registry_images_only(tmp_path: Path) -> None:
    root = repo(tmp_path)
    tag = head(root)
    swarm = built_swarm(root, "node")
    run, programs = build_run(swarm, root, "--cluster")
    assert run.exit_code == 0, run.stderr
    assert [call[call.index("-t") + 1] for call in builds(swarm)] == [f"partscat/node:{tag}"]
    assert (root / ".cache/cluster/images.env").read_text() == images.cluster_images_env_text(
        f"partscat/node:{tag}", f"partscat/registry:{tag}"
    )
    assert not (root / ".cache/images.env").exists()
    assert not any("pip" in " ".join(call) for call in programs.calls)


def test_a_dry_run_builds_and_writes_nothing(tmp_path: Path) -> None:
    root = repo(tmp_path)
    swarm = built_swarm(root, "django", "fastapi")
    run, programs = build_run(swarm, root, "--dry-run")
    assert run.exit_code == 0, run.stderr
    assert (builds(swarm), programs.calls, swarm.changes) == ([], [], [])
    assert run.stderr.count("+ docker build --quiet") == 2
    assert run.stderr.count("# dry run: not run") == 2 + 2 + 2 + 3  # contexts, builds, downloads, venv and wheel
    assert f"dry run: not writing {root}/.cache/images.env:\nPOSTGRES_IMAGE=" in run.stderr
    assert not (root / ".cache").exists()


def test_push_tags_and_pushes_each_image_and_prints_its_digest(tmp_path: Path) -> None:
    root = repo(tmp_path)
    tag = head(root)
    (root / "nginx/nginx.conf").write_text("events { }\n")
    swarm = built_swarm(root)
    run, programs = build_run(swarm, root, "--push", "registry.example:5443")
    assert run.exit_code == 0, run.stderr
    assert programs.calls[0] == (
        "curl", "-fsS", "-o", "/dev/null", "--max-time", "10", "https://registry.example:5443/v2/",
    )  # fmt: skip
    pushed = [call[2] for call in swarm.calls if call[1] == "push"]
    assert pushed == [step.target for step in images.push_plan("registry.example:5443", tag, env_of(root))]
    assert pushed[1] == "registry.example:5443/partscat/postgres:15"
    lines = run.stdout.splitlines()
    assert len(lines) == 8
    for line, target in zip(lines, pushed, strict=True):
        reference, digest = line.split(" ")
        assert reference == target
        assert swarm.repo_digests[target] == [f"{target.rsplit(':', 1)[0]}@{digest}"]
    nginx = env_of(root)["NGINX_IMAGE"]
    assert "-dirty-" in nginx
    assert f"WARNING: {nginx} holds uncommitted changes; pushing it as nginx:{tag}" in run.stderr


def env_of(root: Path) -> dict[str, str]:
    lines = (root / ".cache/images.env").read_text().splitlines()[1:]
    return dict(line.split("=", 1) for line in lines)


def test_a_registry_that_answers_401_or_plain_http_is_answering(tmp_path: Path) -> None:
    root = repo(tmp_path)
    programs = Programs(codes={"https://": 22}, errors={"https://": "curl: (22) The requested URL returned error: 401"})
    run, _ = build_run(built_swarm(root), root, "--push", "r.example:5000", "--tag", "v1", programs=programs)
    assert run.exit_code == 0, run.stderr
    assert run.stdout.splitlines()[0].startswith("r.example:5000/partscat/postgres:v1 sha256:")
    programs = Programs(codes={"https://": 35}, errors={"https://": "curl: (35) SSL"})
    run, _ = build_run(built_swarm(root), root, "--push", "r.example:5000", "--tag", "v1", programs=programs)
    assert run.exit_code == 0, run.stderr
    assert "r.example:5000 answers over plain HTTP only: the engine must list it in insecure-registries" in run.stderr


def test_a_registry_that_does_not_answer_stops_before_any_build(tmp_path: Path) -> None:
    root = repo(tmp_path)
    swarm = built_swarm(root, "django")
    programs = Programs(codes={"curl": 7}, errors={"curl": "curl: (7) Failed to connect"})
    run, _ = build_run(swarm, root, "--push", "r.example:5000", programs=programs)
    assert run.exit_code == 1
    assert (
        "ERROR: registry r.example:5000 does not answer (https: curl: (7) Failed to connect; "
        "http: curl: (7) Failed to connect); is it running (scripts/cluster.sh status)?"
    ) in run.stderr
    assert builds(swarm) == []
    run, _ = build_run(swarm, root, "--push", "r.example:5000", programs=Programs(codes={"curl": 127}))
    assert "ERROR: curl is needed to check the registry r.example:5000" in run.stderr


def test_a_failed_push_stops_with_what_docker_said(tmp_path: Path) -> None:
    root = repo(tmp_path)
    swarm = built_swarm(root)
    swarm.push_codes = {"redis:v1": 1}
    run, _ = build_run(swarm, root, "--push", "r.example:5000", "--tag", "v1")
    assert run.exit_code == 1
    assert "connection refused" in run.stderr
    assert "ERROR: pushing r.example:5000/partscat/redis:v1 failed" in run.stderr
    assert len(run.stdout.splitlines()) == 2  # postgres:v1 and postgres:15 went


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["--bogus"], 64, "[build-images.sh] unknown argument: --bogus\n  build-images.sh    "),
        (["-h"], 64, "  build-images.sh --push REGISTRY [--tag TAG]"),
        (["--tag", "v1"], 1, "[build-images.sh] ERROR: --tag goes with --push REGISTRY"),
        (["--push", "r:5000", "--tag", "a/b"], 1, "ERROR: not a valid image tag: a/b"),
    ],
)
def test_bad_arguments_exit_as_before_and_run_nothing(tmp_path: Path, args: list[str], code: int, said: str) -> None:
    swarm = FakeSwarm()
    run, programs = build_run(swarm, tmp_path, *args)
    assert (run.exit_code, swarm.calls, programs.calls) == (code, [], [])
    assert said in run.stderr
    if code == 64:
        assert "ERROR" not in run.stderr


def test_a_bad_base_mode_is_refused(tmp_path: Path) -> None:
    run, _ = build_run(FakeSwarm(), tmp_path, PARTSCAT_BASE_MODE="cloud")
    assert run.exit_code == 1
    assert "PARTSCAT_BASE_MODE must be auto, registry or offline (got cloud)" in run.stderr


def test_a_cluster_node_s_docker_host_is_dropped(tmp_path: Path) -> None:
    root = repo(tmp_path)
    swarm = built_swarm(root)
    host = "unix:///run/partscat-cluster/manager/docker.sock"
    run, _ = build_run(swarm, root, "--cluster", DOCKER_HOST=host)
    assert run.exit_code == 0, run.stderr
    assert f"DOCKER_HOST names a cluster node ({host}): building with this machine's engine instead" in run.stderr
    assert all(env is not None and "DOCKER_HOST" not in env for env in swarm.environs)
    other = built_swarm(root)
    build_run(other, root, "--cluster", DOCKER_HOST="ssh://elsewhere")
    assert other.environs[0] is None


def test_app_sources_missing_stop_the_build(tmp_path: Path) -> None:
    root = repo(tmp_path)
    for name in (root / "service_common").iterdir():
        name.unlink()
    run, _ = build_run(built_swarm(root), root)
    assert run.exit_code == 1
    assert "ERROR: service_common/ is missing or empty; the app images need it" in run.stderr


def test_a_failed_step_exits_with_its_code(tmp_path: Path) -> None:
    root = repo(tmp_path)
    run, _ = build_run(built_swarm(root), root, programs=Programs(codes={"download": 3}))
    assert run.exit_code == 3
    assert "python3 -m pip download" in run.stderr and "failed (exit 3)" in run.stderr


def test_the_project_wheel_is_built_from_a_copy_without_caches(tmp_path: Path) -> None:
    root = repo(tmp_path)
    (root / "app/__pycache__").mkdir()
    (root / "app/__pycache__/x.pyc").write_text("")
    target = tmp_path / "copy"
    target.mkdir()
    build.sources_copy(root, target)
    copied = sorted(str(path.relative_to(target)) for path in target.rglob("*"))
    assert copied == [
        "app", "app/manage.py", "fastapi_search", "fastapi_search/__init__.py", "pyproject.toml",
        "search_contract", "search_contract/__init__.py", "service_common", "service_common/__init__.py",
    ]  # fmt: skip
