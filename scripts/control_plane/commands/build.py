"""build [--push REGISTRY [--tag TAG]] [--cluster] (scripts/build-images.sh, `make push`): every image of the
stack, tagged by git commit (decisions/images.py), from public bases or, with no registry, a debootstrap base;
their references go to .cache/images.env (--cluster: the cluster's node and registry images only, to
.cache/cluster/images.env). --push then tags each as REGISTRY/partscat/<name>:TAG and pushes it, one
"REFERENCE DIGEST" line each on stdout, the digest from `docker image inspect`'s RepoDigests.

Every docker command goes through the adapter (printed; a dry run prints the builds, imports, tags and pushes
and runs none); git, pip, tar, curl, apt-get and debootstrap run through the context's other runner, and those
that change something are printed as the bash's `run` printed them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from scripts.control_plane.context import Context
from scripts.control_plane.decisions import images
from scripts.control_plane.decisions.images import BuildArgumentsError, BuildRequest, ImageSpec
from scripts.control_plane.docker import Change, Completed, Output
from scripts.control_plane.runbook import Failure, command_line
from scripts.control_plane.settings import cache_dir_ensure

# Where temporary trees and tars go (a root file system does not fit a small /tmp).
TEMP_DIR = Path("/var/tmp")
# The CA this engine trusts for a registry (scripts/cluster.sh installs it there).
DOCKER_CERTS = Path("/etc/docker/certs.d")
PROBE_TIMEOUT = 20.0


# --- What is not docker ---


def program(
    ctx: Context,
    argv: Sequence[str],
    *,
    output: Output = Output.STDERR,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Completed:
    """A step that changes something (pip, tar, apt-get, debootstrap), printed as `+ ...` before it runs; in a
    dry run printed and not run. A failure stops the build with the step's exit code, as `set -e` did."""
    ctx.runbook.command(argv, dry_run=ctx.dry_run)
    if ctx.dry_run:
        ctx.docker.changes.append(Change(command_line(argv), ran=False, returncode=None, at=ctx.clock.time()))
        return Completed(0)
    environ = {**ctx.environ, **env} if env is not None else None
    result = ctx.programs(argv, output=output, env=environ, cwd=cwd or ctx.settings.repo_root)
    ctx.docker.changes.append(Change(command_line(argv), ran=True, returncode=result.returncode, at=ctx.clock.time()))
    if result.returncode != 0:
        ctx.runbook.relay(result.stdout)
        ctx.runbook.relay(result.stderr)
        raise Failure(f"{command_line(argv)} failed (exit {result.returncode})", exit_code=result.returncode)
    return result


def git(ctx: Context, *args: str) -> Completed:
    """A git read in the checkout (not printed: the bash ran these inside `$(...)`)."""
    return ctx.programs(["git", *args], cwd=ctx.settings.repo_root)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tag_for(ctx: Context, paths: Sequence[str]) -> str:
    """decisions/images.py image_tag, from git: the last commit touching the paths, whether `git status` sees
    a change there (or fails: "unknown"), and then the content hash of their tracked and untracked files."""
    log = git(ctx, "log", "-1", "--format=%h", "--", *paths)
    sha = log.stdout.strip() if log.returncode == 0 else ""
    status = git(ctx, "status", "--porcelain", "--untracked-files=all", "--", *paths)
    dirty = status.returncode != 0 or bool(status.stdout.strip())
    if not dirty:
        return images.image_tag(sha, False, "")
    listed = git(ctx, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *paths)
    root = ctx.settings.repo_root
    files = [(name, file_sha256(root / name)) for name in listed.stdout.split("\0") if name and (root / name).is_file()]
    return images.image_tag(sha, True, images.content_hash(files))


def head_short(ctx: Context) -> str:
    result = git(ctx, "rev-parse", "--short", "HEAD")
    if result.returncode != 0:
        raise Failure(f"git rev-parse --short HEAD failed: {result.stderr.strip()}", exit_code=result.returncode)
    return result.stdout.strip()


def write_atomically(path: Path, text: str) -> None:
    """Through PATH.tmp and a rename, as the bash's `> x.tmp; mv x.tmp x`: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


class Build:
    """One run of build: the steps in the bash's order, each image's reference as it is built."""

    def __init__(self, ctx: Context, request: BuildRequest, base_mode: str) -> None:
        self.ctx = ctx
        self.request = request
        self.base_mode = base_mode
        self.root = ctx.settings.repo_root
        self.cache = ctx.settings.cache_dir

    def log(self, message: str) -> None:
        self.ctx.log(message)

    def elapsed(self, started: float) -> int:
        return int(self.ctx.clock.monotonic() - started)

    # The images.

    def image(self, spec: ImageSpec, base: str) -> str:
        """Build one image from a tar of only its inputs unless its tag exists; its reference."""
        started = self.ctx.clock.monotonic()
        plan = images.build_plan(spec, tag_for(self.ctx, spec.tag_inputs), base)
        if self.ctx.docker.image(plan.reference) is not None:
            self.log(f"{plan.reference} already built")
            return plan.reference
        self.log(f"building {plan.reference}")
        with tempfile.TemporaryDirectory(prefix="partscat-context.", dir=TEMP_DIR) as folder:
            context = Path(folder) / "context.tar"
            excludes = [f"--exclude={pattern}" for pattern in images.CONTEXT_EXCLUDES]
            program(self.ctx, ["tar", "-c", "-f", str(context), *excludes, *plan.context], output=Output.CAPTURE)
            self.ctx.docker.image_build(
                plan.reference,
                dockerfile=plan.dockerfile,
                context=context,
                build_args=plan.build_args,
                labels=plan.labels,
            )
        if not self.ctx.dry_run:
            self.log(f"built {plan.reference} in {self.elapsed(started)}s")
        return plan.reference

    def pull(self, reference: str) -> str:
        self.ctx.docker.image_pull_change(reference)
        return reference

    def base_mode_resolved(self) -> str:
        if self.base_mode != "auto":
            return self.base_mode
        self.log(f"probing the registry (docker pull {images.DEBIAN_REGISTRY_BASE}, {PROBE_TIMEOUT:g}s timeout)")
        probe = self.ctx.docker.image_pull(images.DEBIAN_REGISTRY_BASE, timeout=PROBE_TIMEOUT)
        return "registry" if probe.returncode == 0 else "offline"

    # The offline base.

    def debian_mirror(self, variable: str, suite: str) -> str:
        """The mirror for a suite's main component: the variable when set, else this machine's apt sources."""
        if self.ctx.environ.get(variable):
            return self.ctx.environ[variable]
        found = self.ctx.programs(["python3", str(self.root / "scripts" / "apt_mirror.py"), suite])
        self.ctx.runbook.relay(found.stderr)
        if found.returncode != 0 or not found.stdout.strip():
            raise Failure(
                f"no Debian mirror for {suite} in this machine's apt sources: "
                f"set {variable} to the URL of your Debian mirror"
            )
        return found.stdout.strip()

    def offline_debian_base(self) -> str:
        """A minimal Debian bookworm root file system imported as an image; built once, kept while it exists."""
        reference = images.OFFLINE_DEBIAN_BASE
        if self.ctx.docker.image(reference) is not None:
            self.log(f"offline base {reference} already exists")
            return reference
        started = self.ctx.clock.monotonic()
        if shutil.which("debootstrap") is None:
            program(self.ctx, ["apt-get", "update"])
            program(self.ctx, ["apt-get", "install", "-y", "debootstrap"], env={"DEBIAN_FRONTEND": "noninteractive"})
        mirror = self.debian_mirror("DEBIAN_MIRROR", "bookworm")
        security_mirror = self.debian_mirror("DEBIAN_SECURITY_MIRROR", "bookworm-security")
        self.log(f"Debian mirrors: {mirror}, {security_mirror}")
        with tempfile.TemporaryDirectory(prefix="partscat-rootfs.", dir=TEMP_DIR) as folder:
            rootfs = Path(folder) / "rootfs"
            # Its output is dropped (>/dev/null in the bash); what it says on stderr is shown.
            steps = program(
                self.ctx, ["debootstrap", "--variant=minbase", "bookworm", str(rootfs), mirror], output=Output.CAPTURE
            )
            self.ctx.runbook.relay(steps.stderr)
            if not self.ctx.dry_run:
                rootfs_settle(rootfs, mirror, security_mirror)
            self.log(f"importing {rootfs} as {reference}")
            tar = Path(folder) / "rootfs.tar"
            program(self.ctx, ["tar", "-C", str(rootfs), "-c", "-f", str(tar), "."], output=Output.CAPTURE)
            self.ctx.docker.image_import(reference, rootfs_tar=tar, changes=images.OFFLINE_IMPORT_CHANGES)
        if not self.ctx.dry_run:
            self.log(f"offline base built in {self.elapsed(started)}s")
        return reference

    # The Python wheels.

    def wheelhouse(self) -> None:
        """The locked wheels of the images' Python, keyed by their lock files; the images install from it with
        --no-index --require-hashes, and pip download checks every wheel against the lock's hashes too."""
        wheelhouse = self.cache / "wheelhouse"
        stamp = wheelhouse / ".requirements.sha256"
        want = images.wheelhouse_stamp([(self.root / name).read_bytes() for name in images.WHEEL_REQUIREMENTS])
        if images.stamp_current(read_text(stamp), want):
            self.log(f"wheelhouse up to date ({wheelhouse})")
            return
        started = self.ctx.clock.monotonic()
        if not self.ctx.dry_run:
            wheelhouse.mkdir(parents=True, exist_ok=True)
        for requirements in images.WHEEL_REQUIREMENTS:
            argv = [
                "python3", "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--only-binary=:all:",
                "--require-hashes", *images.WHEEL_PLATFORM_ARGS, "-d", str(wheelhouse), "-r", requirements,
            ]  # fmt: skip
            result = program(self.ctx, argv, output=Output.CAPTURE)
            self.ctx.runbook.relay(images.pip_output_kept(result.stdout + result.stderr))
        if self.ctx.dry_run:
            return
        stamp.write_text(f"{want}\n")
        wheels = sum(1 for _ in wheelhouse.rglob("*.whl"))
        self.log(f"wheelhouse built in {self.elapsed(started)}s ({wheels} wheels)")

    def project_wheel(self) -> None:
        """The project's wheel (pure Python), built afresh on every run from a copy of the working tree by a
        venv that holds only the locked build backend (requirements/build.txt)."""
        venv = self.cache / "build-venv"
        stamp = venv / ".build-requirements.sha256"
        want = images.build_venv_stamp((self.root / images.BUILD_REQUIREMENTS).read_bytes())
        pip = venv / "bin" / "pip"
        if not os.access(pip, os.X_OK) or not images.stamp_current(read_text(stamp), want):
            if not self.ctx.dry_run:
                shutil.rmtree(venv, ignore_errors=True)
            program(self.ctx, ["python3", "-m", "venv", str(venv)])
            program(
                self.ctx,
                [str(pip), "install", "--quiet", "--disable-pip-version-check", "--require-hashes",
                 "-r", images.BUILD_REQUIREMENTS],
            )  # fmt: skip
            if not self.ctx.dry_run:
                venv.mkdir(parents=True, exist_ok=True)
                stamp.write_text(f"{want}\n")
        wheel_dir = self.cache / "project-wheel"
        # From a copy: setuptools keeps a build/ folder, and a stale one would put files deleted since (an old
        # migration) back into the wheel. The copy also leaves the working tree untouched.
        with tempfile.TemporaryDirectory(prefix="partscat-project.", dir=TEMP_DIR) as source:
            if not self.ctx.dry_run:
                sources_copy(self.root, Path(source))
                shutil.rmtree(wheel_dir, ignore_errors=True)
                wheel_dir.mkdir(parents=True)
            program(
                self.ctx,
                [str(pip), "wheel", "--quiet", "--disable-pip-version-check", "--no-deps", "--no-build-isolation",
                 "-w", str(wheel_dir), source],
            )  # fmt: skip

    # The push.

    def push_registry_answers(self, registry: str) -> None:
        """Fail before building when the registry does not answer: HTTPS with the CA this engine trusts for it,
        else plain HTTP (a lab registry in the engine's insecure-registries). A 401 answers too."""
        ca = DOCKER_CERTS / registry / "ca.crt"
        ca_args = ["--cacert", str(ca)] if ca.is_file() else []
        errors = []
        for scheme, extra in (("https", ca_args), ("http", [])):
            argv = ["curl", "-fsS", "-o", "/dev/null", "--max-time", "10", *extra, f"{scheme}://{registry}/v2/"]
            self.ctx.runbook.command(argv)
            result = self.ctx.programs(argv)
            if result.returncode == 127:
                raise Failure(f"curl is needed to check the registry {registry}")
            if images.registry_answered(result.returncode, result.stderr):
                if scheme == "http":
                    self.log(f"{registry} answers over plain HTTP only: the engine must list it in insecure-registries")
                return
            errors.append(f"{scheme}: {result.stderr.strip()}")
        raise Failure(
            f"registry {registry} does not answer ({'; '.join(errors)}); is it running (scripts/cluster.sh status)?"
        )

    def push(self, references: Mapping[str, str]) -> None:
        registry, tag = self.request.push_registry, self.request.push_tag
        warned: set[str] = set()
        for step in images.push_plan(registry, tag, references):
            if step.dirty and step.source not in warned:
                warned.add(step.source)
                name = step.target.rsplit("/", 1)[1]
                self.log(f"WARNING: {step.source} holds uncommitted changes; pushing it as {name}")
            started = self.ctx.clock.monotonic()
            self.ctx.docker.image_tag(step.source, step.target)
            # In order: the later images share the base layers the earlier ones pushed, and skip them.
            pushed = self.ctx.docker.image_push(step.target)
            if self.ctx.dry_run:
                continue
            if pushed.returncode != 0:
                self.ctx.runbook.relay(pushed.stdout)
                self.ctx.runbook.relay(pushed.stderr)
                raise Failure(f"pushing {step.target} failed")
            image = self.ctx.docker.image(step.target)
            digest = images.pushed_digest(step.target, image.repo_digests if image is not None else ())
            if not digest:
                raise Failure(f"{step.target} was pushed but docker image inspect gives it no digest")
            self.log(f"pushed {step.target} ({step.source}) in {self.elapsed(started)}s")
            self.ctx.runbook.print(f"{step.target} {digest}")

    # The whole run, in the bash's order.

    def run(self) -> None:
        if self.request.push_registry:
            self.push_registry_answers(self.request.push_registry)
        mode = self.base_mode_resolved()
        self.log(f"base mode: {mode}")
        registry = mode == "registry"
        debian = self.pull(images.DEBIAN_REGISTRY_BASE) if registry else self.offline_debian_base()
        # The cluster's own images (scripts/cluster.sh) need only the Debian base.
        if self.request.cluster:
            node = self.image(images.NODE, debian)
            registry_image = self.image(images.REGISTRY, debian)
            self.write(self.cache / "cluster" / "images.env", images.cluster_images_env_text(node, registry_image))
            return
        python = self.pull(images.PYTHON_REGISTRY_BASE) if registry else self.image(images.PYTHON_BASE, debian)
        self.wheelhouse()
        self.project_wheel()
        if registry:
            postgres_base = self.pull(self.ctx.environ.get("OFFICIAL_POSTGRES_IMAGE") or images.OFFICIAL_POSTGRES_IMAGE)
            redis_base = self.pull(self.ctx.environ.get("OFFICIAL_REDIS_IMAGE") or images.OFFICIAL_REDIS_IMAGE)
        else:
            postgres_base = self.image(images.POSTGRES_BASE, debian)
            redis_base = self.image(images.REDIS_BASE, debian)
        bases = {"DEBIAN_BASE": debian, "PYTHON_BASE": python, "POSTGRES_BASE": postgres_base, "REDIS_BASE": redis_base}
        references: dict[str, str] = {}
        for variable, spec in images.STACK_IMAGES:
            if spec.name == "django":
                self.app_sources_check()
            references[variable] = self.image(spec, bases[spec.base_arg])
        env_text = images.images_env_text(references)
        if self.write(self.ctx.settings.images_env, env_text):
            self.log(f"image references written to {self.ctx.settings.images_env}:")
            self.ctx.runbook.relay("".join(line + "\n" for line in env_text.splitlines() if not line.startswith("#")))
        if self.request.push_registry:
            self.push(references)

    def app_sources_check(self) -> None:
        for name in images.APP_SOURCES:
            folder = self.root / name
            if not folder.is_dir() or not any(folder.iterdir()):
                raise Failure(f"{name}/ is missing or empty; the app images need it")

    def write(self, path: Path, text: str) -> bool:
        if self.ctx.dry_run:
            self.log(f"dry run: not writing {path}:")
            self.ctx.runbook.relay("".join(line + "\n" for line in text.splitlines() if not line.startswith("#")))
            return False
        write_atomically(path, text)
        return True


def read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def rootfs_settle(rootfs: Path, mirror: str, security_mirror: str) -> None:
    """The debootstrapped tree as the image wants it: its apt sources, apt's and dpkg's habits of
    debian:bookworm-slim, no cached packages, lists or docs."""
    (rootfs / "etc/apt/sources.list").write_text(images.offline_sources_list(mirror, security_mirror))
    (rootfs / "etc/apt/apt.conf.d/90partscat-no-recommends").write_text(images.OFFLINE_APT_CONF)
    (rootfs / "etc/dpkg/dpkg.cfg.d/90partscat-nodoc").write_text(images.OFFLINE_DPKG_NODOC)
    for pattern in ("var/cache/apt/archives/*.deb", "var/lib/apt/lists/*", "usr/share/doc/*", "usr/share/man/*"):
        for found in rootfs.glob(pattern):
            if found.is_dir() and not found.is_symlink():
                shutil.rmtree(found)
            else:
                found.unlink()


def sources_copy(root: Path, target: Path) -> None:
    """What the project's wheel is built from (decisions/images.py WHEEL_SOURCES), without caches or
    app/staticfiles."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        relative = Path(folder).relative_to(root).as_posix()
        return {
            name
            for name in names
            if name == "__pycache__" or name.endswith(".pyc") or f"{relative}/{name}" in images.WHEEL_SOURCE_EXCLUDES
        }

    for name in images.WHEEL_SOURCES:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, target / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(source, target / name)


def run(ctx: Context, args: Sequence[str]) -> None:
    try:
        request = images.build_arguments_parse(args)
        if request.push_registry and not request.push_tag:
            request = BuildRequest(request.push_registry, images.tag_check(head_short(ctx)), request.cluster)
        mode = images.base_mode(ctx.environ.get("PARTSCAT_BASE_MODE", ""))
    except BuildArgumentsError as error:
        if error.usage:
            if error.message:
                ctx.log(error.message)
            ctx.runbook.relay(images.USAGE)
            raise Failure(error.message or "usage", exit_code=error.exit_code, logged=True) from error
        raise Failure(str(error.message), exit_code=error.exit_code) from error
    docker_host = ctx.environ.get("DOCKER_HOST", "")
    if images.docker_host_is_cluster_node(docker_host):
        ctx.log(f"DOCKER_HOST names a cluster node ({docker_host}): building with this machine's engine instead")
        ctx.docker.env = {name: value for name, value in ctx.environ.items() if name != "DOCKER_HOST"}
    ctx.require_docker()
    if not ctx.dry_run:
        cache_dir_ensure(ctx.settings)
    Build(ctx, request, mode).run()
