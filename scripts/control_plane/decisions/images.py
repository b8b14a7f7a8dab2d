"""What `build` (scripts/build-images.sh) decides, as plain functions: its arguments, the base mode, which image
is built from what, an image's tag, the build context's inputs, the wheelhouse and build-venv stamps, the push
plan and the files it writes (.cache/images.env, .cache/cluster/images.env).

An image's tag is the short sha of the last commit touching its inputs, with ``-dirty-<content hash>`` when the
inputs differ from it (the hash of each file's sha256 and path, so that mtimes do not matter): the tags are
those the bash computed, so an image built by either is found "already built" by the other.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

# The variables images.env holds and deploy needs, in the file's order, and each image's name under
# REGISTRY/partscat/ (--push).
IMAGE_VARIABLES = (
    "POSTGRES_IMAGE",
    "REDIS_IMAGE",
    "NGINX_IMAGE",
    "EDGE_SOCKET_IMAGE",
    "DJANGO_IMAGE",
    "FASTAPI_IMAGE",
)
IMAGE_NAMES = dict(
    zip(IMAGE_VARIABLES, ("postgres", "redis", "nginx", "edge-socket", "django", "fastapi"), strict=True)
)
# The data services' images also go out under the tag stack.yml names them by (POSTGRES_TAG, REDIS_TAG): a
# release's TAG must not restart PostgreSQL and Redis (stop-first) unless their image really changed.
DATA_TAGS = {"POSTGRES_IMAGE": "15", "REDIS_IMAGE": "7"}

BASE_MODES = ("auto", "registry", "offline")
# With a registry: the public bases (the probe pulls the first).
DEBIAN_REGISTRY_BASE = "debian:bookworm-slim"
PYTHON_REGISTRY_BASE = "python:3.11-slim"
OFFICIAL_POSTGRES_IMAGE = "postgres:15-bookworm"
OFFICIAL_REDIS_IMAGE = "redis:7-bookworm"
# Without one: a minimal Debian bookworm root file system (debootstrap) imported as an image, kept as long
# as the tag exists.
OFFLINE_DEBIAN_BASE = "partscat/debian-base:bookworm-minbase"
OFFLINE_IMPORT_CHANGES = ("ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 'CMD ["bash"]')
# The offline base's apt habits, as debian:bookworm-slim's: no recommends, no docs, no cached .debs.
OFFLINE_APT_CONF = 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n'
OFFLINE_DPKG_NODOC = (
    "path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n"
    "path-include /usr/share/locale/locale.alias\n"
)


def offline_sources_list(mirror: str, security_mirror: str) -> str:
    return (
        f"deb {mirror} bookworm main\ndeb {mirror} bookworm-updates main\n"
        f"deb {security_mirror} bookworm-security main\n"
    )


# The images' Python: CPython 3.11 on glibc x86_64 (python:3.11-slim and Debian bookworm's python3 both qualify).
WHEEL_PLATFORM_ARGS = (
    "--platform", "manylinux_2_36_x86_64", "--platform", "manylinux_2_28_x86_64",
    "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64",
    "--implementation", "cp", "--python-version", "3.11", "--abi", "cp311",
)  # fmt: skip
WHEEL_REQUIREMENTS = ("requirements/django.txt", "requirements/fastapi.txt")
BUILD_REQUIREMENTS = "requirements/build.txt"
# What the project's wheel is built from (a copy: setuptools' build/ folder must not leak old files into it).
WHEEL_SOURCES = ("pyproject.toml", "app", "search_contract", "service_common", "fastapi_search")
WHEEL_SOURCE_EXCLUDES = ("__pycache__", "*.pyc", "app/staticfiles")
# Left out of every build context.
CONTEXT_EXCLUDES = ("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache")
# The app images install the locked wheels and the project's wheel from these (in every app image's context).
APP_CONTEXT = (".cache/wheelhouse", ".cache/project-wheel")
APP_IMAGES = ("django", "fastapi")
APP_SOURCES = ("app", "fastapi_search", "search_contract", "service_common")
# A pip config listing find-links folders that do not exist makes pip say so on every run.
PIP_NOISE = "is ignored: it is neither"
# Where scripts/cluster.sh env points DOCKER_HOST: a cluster node, which builds nothing.
CLUSTER_DOCKER_HOST = "unix:///run/partscat-cluster/"

# Docker's tag grammar (search_contract/release.py checks the same).
TAG_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")

USAGE = """\
  build-images.sh                              build them; their references go to .cache/images.env
  build-images.sh --push REGISTRY [--tag TAG]  build them, then tag each as REGISTRY/partscat/<name>:TAG and
                                               push it (TAG: the short commit); one "REFERENCE DIGEST" line each
  build-images.sh --cluster                    only scripts/cluster.sh's node and registry images; their
                                               references go to .cache/cluster/images.env
"""
# The bash's `usage` exit code (EX_USAGE); a refused argument is die's 1.
USAGE_EXIT = 64


# --- The arguments ---


class BuildArgumentsError(ValueError):
    """A refused command line: the message (None: only the usage) and the exit code; `usage` prints it."""

    def __init__(self, message: str | None, *, exit_code: int = 1, usage: bool = False) -> None:
        super().__init__(message or "usage")
        self.message = message
        self.exit_code = exit_code
        self.usage = usage


@dataclass(frozen=True)
class BuildRequest:
    push_registry: str = ""
    # Empty with a registry: the short commit (HEAD), filled in by the command.
    push_tag: str = ""
    cluster: bool = False


def build_arguments_parse(args: Sequence[str]) -> BuildRequest:
    """build-images.sh's flags, checked in its order."""
    registry = tag = ""
    cluster = False
    index = 0
    while index < len(args):
        arg = args[index]
        value = args[index + 1] if index + 1 < len(args) else ""
        if arg == "--push":
            if not value:
                raise BuildArgumentsError("--push needs a registry (host[:port], as in an image name)")
            registry, index = value, index + 2
        elif arg == "--tag":
            if not value:
                raise BuildArgumentsError("--tag needs a tag")
            tag, index = value, index + 2
        elif arg == "--cluster":
            cluster, index = True, index + 1
        elif arg in ("-h", "--help"):
            raise BuildArgumentsError(None, exit_code=USAGE_EXIT, usage=True)
        else:
            raise BuildArgumentsError(f"unknown argument: {arg}", exit_code=USAGE_EXIT, usage=True)
    if tag and not registry:
        raise BuildArgumentsError("--tag goes with --push REGISTRY")
    if cluster and registry:
        raise BuildArgumentsError("--cluster builds the cluster's own images; they are not pushed")
    if registry.endswith("/") or "://" in registry or " " in registry:
        raise BuildArgumentsError(f"REGISTRY is a host[:port], as in an image name (got {registry})")
    if tag:
        tag_check(tag)
    return BuildRequest(push_registry=registry, push_tag=tag, cluster=cluster)


def tag_check(tag: str) -> str:
    if not TAG_PATTERN.fullmatch(tag):
        raise BuildArgumentsError(f"not a valid image tag: {tag}")
    return tag


def base_mode(value: str) -> str:
    """PARTSCAT_BASE_MODE: auto (probe the registry), registry or offline; unset or empty means auto."""
    mode = value or "auto"
    if mode not in BASE_MODES:
        raise BuildArgumentsError(f"PARTSCAT_BASE_MODE must be auto, registry or offline (got {mode})")
    return mode


def docker_host_is_cluster_node(docker_host: str) -> bool:
    """scripts/cluster.sh env points DOCKER_HOST at the cluster's manager; images are built by this machine's
    engine and reach the nodes through the registry."""
    return docker_host.startswith(CLUSTER_DOCKER_HOST)


# --- The images ---


@dataclass(frozen=True)
class ImageSpec:
    """One image: its name (partscat/<name>), Dockerfile, the build argument its base goes in, and the inputs
    its tag follows and its context holds (besides the Dockerfile)."""

    name: str
    dockerfile: str
    base_arg: str
    inputs: tuple[str, ...] = ()

    @property
    def tag_inputs(self) -> tuple[str, ...]:
        return (self.dockerfile, *self.inputs)


IMAGES_DIR = "scripts/images"
NODE = ImageSpec("node", f"{IMAGES_DIR}/node.Dockerfile", "DEBIAN_BASE", (f"{IMAGES_DIR}/node-entrypoint.sh",))
REGISTRY = ImageSpec(
    "registry", f"{IMAGES_DIR}/registry.Dockerfile", "DEBIAN_BASE", (f"{IMAGES_DIR}/registry-config.yml",)
)
PYTHON_BASE = ImageSpec("python-base", f"{IMAGES_DIR}/python-base.Dockerfile", "DEBIAN_BASE")
POSTGRES_BASE = ImageSpec("postgres-base", f"{IMAGES_DIR}/postgres-base.Dockerfile", "DEBIAN_BASE")
REDIS_BASE = ImageSpec("redis-base", f"{IMAGES_DIR}/redis-base.Dockerfile", "DEBIAN_BASE")
# PostgreSQL and Redis: the official images, or offline stand-ins with the same paths and users, plus the
# entrypoints that apply the roles (PostgreSQL) and require the password (Redis) on every start.
POSTGRES = ImageSpec(
    "postgres",
    f"{IMAGES_DIR}/postgres.Dockerfile",
    "POSTGRES_BASE",
    (f"{IMAGES_DIR}/postgres-entrypoint.sh", f"{IMAGES_DIR}/postgres-roles.sql"),
)
REDIS = ImageSpec("redis", f"{IMAGES_DIR}/redis.Dockerfile", "REDIS_BASE", (f"{IMAGES_DIR}/redis-entrypoint.sh",))
# Nginx is always built here (from debian:bookworm-slim with a registry): it carries the upstream watcher.
NGINX = ImageSpec("nginx", "nginx/Dockerfile", "DEBIAN_BASE", ("nginx", "healthcheck"))
# Tagged by its own two files only: a new Nginx image leaves the holder's service, and the port, untouched.
EDGE_SOCKET = ImageSpec("edge-socket", "nginx/socket_holder.Dockerfile", "PYTHON_BASE", ("nginx/socket_holder.py",))
# The tag follows the sources of the packages an image runs (its wheel holds the others too, unused there).
DJANGO = ImageSpec(
    "django",
    f"{IMAGES_DIR}/django.Dockerfile",
    "PYTHON_BASE",
    (
        f"{IMAGES_DIR}/app-entrypoint.sh", "healthcheck", "requirements/django.txt",
        "pyproject.toml", "app", "search_contract", "service_common",
    ),
)  # fmt: skip
FASTAPI = ImageSpec(
    "fastapi",
    f"{IMAGES_DIR}/fastapi.Dockerfile",
    "PYTHON_BASE",
    (
        f"{IMAGES_DIR}/app-entrypoint.sh", "healthcheck", "requirements/fastapi.txt",
        "pyproject.toml", "fastapi_search", "search_contract", "service_common",
    ),
)  # fmt: skip
CLUSTER_IMAGES = (NODE, REGISTRY)
OFFLINE_BASES = (PYTHON_BASE, POSTGRES_BASE, REDIS_BASE)
# The stack's images in build order, with the variable each one's reference goes to.
STACK_IMAGES = (
    ("POSTGRES_IMAGE", POSTGRES),
    ("REDIS_IMAGE", REDIS),
    ("NGINX_IMAGE", NGINX),
    ("EDGE_SOCKET_IMAGE", EDGE_SOCKET),
    ("DJANGO_IMAGE", DJANGO),
    ("FASTAPI_IMAGE", FASTAPI),
)


def image_reference(name: str, tag: str) -> str:
    return f"partscat/{name}:{tag}"


def image_tag(short_sha: str, dirty: bool, content_hash: str) -> str:
    """The short sha of the last commit touching the inputs (0000000 when none did), and -dirty-<content hash>
    when the working tree differs from it there (`git status` answering nothing: clean)."""
    sha = short_sha.strip() or "0000000"
    return f"{sha}-dirty-{content_hash}" if dirty else sha


def content_hash(files: Iterable[tuple[str, str]]) -> str:
    """The hash of the inputs' tracked and untracked files: `<sha256 of its bytes> <path>` a line, in the order
    of the paths' bytes (`sort -z` in the C locale), hashed again; its first 10 hex digits."""
    lines = "".join(f"{digest} {path}\n" for path, digest in sorted(files, key=lambda item: item[0].encode()))
    return hashlib.sha256(lines.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class BuildPlan:
    """How one image is built: its reference, the build arguments and labels, and what goes in its context (a
    tar of only these paths, in this order)."""

    reference: str
    tag: str
    dockerfile: str
    build_args: tuple[tuple[str, str], ...]
    labels: tuple[tuple[str, str], ...]
    context: tuple[str, ...] = field(default=())


def build_plan(spec: ImageSpec, tag: str, base: str) -> BuildPlan:
    build_args = [(spec.base_arg, base)]
    context: list[str] = []
    if spec.name in APP_IMAGES:
        # The apps name their release in X-Release: the tag this image is built as (Docker's tag grammar).
        context += APP_CONTEXT
        build_args.append(("PARTSCAT_RELEASE_TAG", tag))
    # The Dockerfile goes in once: tar would store a second copy as a hard link the daemon cannot resolve.
    if str(PurePosixPath(spec.dockerfile).parent) not in spec.inputs:
        context.append(spec.dockerfile)
    context += spec.inputs
    labels = (("org.opencontainers.image.revision", tag), ("org.opencontainers.image.source", "partscat"))
    return BuildPlan(
        reference=image_reference(spec.name, tag),
        tag=tag,
        dockerfile=spec.dockerfile,
        build_args=tuple(build_args),
        labels=labels,
        context=tuple(context),
    )


# --- The Python wheels ---


def wheelhouse_stamp(requirements: Sequence[bytes]) -> str:
    """The wheelhouse's key: the images' lock files and the platform arguments (the bash's
    `(cat django.txt fastapi.txt; echo "${WHEEL_PLATFORM_ARGS[*]}") | sha256sum`)."""
    text = b"".join(requirements) + (" ".join(WHEEL_PLATFORM_ARGS) + "\n").encode()
    return hashlib.sha256(text).hexdigest()


def build_venv_stamp(build_requirements: bytes) -> str:
    """The build venv's key: requirements/build.txt's sha256."""
    return hashlib.sha256(build_requirements).hexdigest()


def stamp_current(stamp_text: str | None, want: str) -> bool:
    """A stamp file as `$(cat file)` reads it (trailing newlines dropped) against the key wanted."""
    return stamp_text is not None and stamp_text.rstrip("\n") == want


def pip_output_kept(text: str) -> str:
    """pip's output without the noise of a local config naming missing find-links folders."""
    return "".join(line for line in text.splitlines(keepends=True) if PIP_NOISE not in line)


# --- The push ---


@dataclass(frozen=True)
class PushStep:
    source: str
    target: str
    # The source holds uncommitted changes (its tag says -dirty-): said before it goes out.
    dirty: bool = False


def push_plan(registry: str, tag: str, images: Mapping[str, str]) -> list[PushStep]:
    """Each image of the stack as REGISTRY/partscat/<name>:TAG, in images.env's order (the later images share
    the base layers the earlier ones pushed, and skip them); postgres and redis also under their data tag."""
    steps = []
    for variable in IMAGE_VARIABLES:
        source, name = images[variable], IMAGE_NAMES[variable]
        tags = [tag] + ([DATA_TAGS[variable]] if variable in DATA_TAGS else [])
        steps += [PushStep(source, f"{registry}/partscat/{name}:{item}", "-dirty-" in source) for item in tags]
    return steps


def repository(reference: str) -> str:
    """An image reference without its tag or digest (a registry's :port stays)."""
    name = reference.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def pushed_digest(target: str, repo_digests: Iterable[str]) -> str:
    """The digest the registry gave `target`: the image's RepoDigests entry for its repository ("" if none)."""
    wanted = repository(target)
    for entry in repo_digests:
        name, _, digest = entry.partition("@")
        if name == wanted and digest:
            return digest
    return ""


def registry_answered(returncode: int, stderr: str) -> bool:
    """curl -fsS .../v2/: an answer, or a 401 (the registry wants a `docker login` first)."""
    return returncode == 0 or "error: 401" in stderr


# --- What it writes ---


def images_env_text(images: Mapping[str, str]) -> str:
    lines = "".join(f"{variable}={images[variable]}\n" for variable in IMAGE_VARIABLES)
    return f"# Written by scripts/build-images.sh; read by scripts/deploy.sh for stack.yml.\n{lines}"


def cluster_images_env_text(node: str, registry: str) -> str:
    return (
        "# Written by scripts/build-images.sh --cluster; read by scripts/cluster.sh.\n"
        f"NODE_IMAGE={node}\nREGISTRY_IMAGE={registry}\n"
    )
