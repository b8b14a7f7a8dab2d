"""What every command works with: the settings, the Docker adapter, the runbook, the event log, the verdict
and a clock, plus the few look-ups every Swarm script started with (lib.sh require_docker, live_colour,
service_name, load_images_env)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from scripts.control_plane.decisions import colours
from scripts.control_plane.decisions.colours import ReleaseState, ReleaseStateError

# The variables build writes and deploy needs (stack.yml fails without any of them), and each image's name
# under REGISTRY/partscat/.
from scripts.control_plane.decisions.images import IMAGE_NAMES, IMAGE_VARIABLES
from scripts.control_plane.docker import Docker, Runner
from scripts.control_plane.event_log import EventLog
from scripts.control_plane.records import SwarmInfo
from scripts.control_plane.runbook import Failure, Runbook
from scripts.control_plane.settings import Settings, images_env_parse
from scripts.control_plane.verdict import Timer, Verdict


class Clock(Protocol):
    def time(self) -> float: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class Context:
    settings: Settings
    docker: Docker
    runbook: Runbook
    events: EventLog
    verdict: Verdict
    timer: Timer
    clock: Clock
    # Runs what is not docker: the scripts `up` calls (docker-engine.sh, build-images.sh, seed.sh), build's
    # git, pip, tar, curl and debootstrap, and openssl's check of a TLS pair.
    programs: Runner
    # The process's environment, read once: `docker stack deploy` interpolates stack.yml from it.
    environ: Mapping[str, str]
    stdin_is_terminal: bool = False

    @property
    def dry_run(self) -> bool:
        return self.docker.dry_run

    @property
    def stack(self) -> str:
        return self.settings.stack

    def log(self, message: str) -> None:
        self.runbook.log(message)

    def require_docker(self) -> SwarmInfo:
        info = self.docker.swarm_info()
        if info is None:
            raise Failure("docker daemon not reachable; run scripts/docker-engine.sh")
        return info

    def release_state(self) -> ReleaseState:
        """The blue-green state from the nginx service's labels (no stack yet: blue, no candidate)."""
        nginx = self.docker.service(self.settings.nginx_service)
        try:
            return colours.release_state(nginx.labels if nginx is not None else {})
        except ReleaseStateError as error:
            raise Failure(str(error)) from error

    def service_name(self, name: str) -> str:
        """django and fastapi mean their live colour; django-green names one colour; others pass through."""
        short = name.removeprefix(f"{self.stack}_")
        live = self.release_state().live if short in colours.APPS else "blue"
        return colours.service_name(self.stack, name, live)

    def image_reference(self, name: str, tag: str) -> str:
        """partscat/<name>:TAG, under REGISTRY when images come from one."""
        prefix = f"{self.settings.registry}/partscat" if self.settings.registry else "partscat"
        return f"{prefix}/{name}:{tag}"

    def image_problem(self, image: str) -> str | None:
        """Why the swarm could not run `image`, or None: with a registry, the manager pulls it (a registry that
        is down or lacks the tag fails here, before anything changes); without one, it must be on this engine."""
        if not self.settings.registry:
            return None if self.docker.image(image) is not None else f"image {image} not found locally"
        pulled = self.docker.image_pull(image)
        if pulled.returncode == 0:
            return None
        reason = pulled.stderr.strip().splitlines()[-1] if pulled.stderr.strip() else f"exit {pulled.returncode}"
        return f"the registry cannot give {image}: {reason}"

    def images(self) -> dict[str, str]:
        """REGISTRY/partscat/<name>:TAG for each image when REGISTRY and TAG are set; else the image references
        build-images.sh wrote last (lib.sh load_images_env)."""
        if self.settings.registry:
            if not self.settings.tag:
                raise Failure(f"REGISTRY is {self.settings.registry}: set TAG to the release to deploy")
            tags = {**dict.fromkeys(IMAGE_VARIABLES, self.settings.tag), **self.settings.data_tags}
            return {variable: self.image_reference(name, tags[variable]) for variable, name in IMAGE_NAMES.items()}
        path = self.settings.images_env
        if not path.is_file():
            raise Failure(f"{path} missing; run scripts/build-images.sh first")
        values = images_env_parse(path.read_text(encoding="utf-8"))
        missing = [name for name in IMAGE_VARIABLES if not values.get(name)]
        if missing:
            raise Failure(f"{path} has no {', '.join(missing)}; run scripts/build-images.sh again")
        return values
