"""Blue-green decisions: the release state kept in the nginx service's labels, which Swarm service a name
means, whether a colour is ready for users, whether a switch or a switch-back may go ahead, what finish
retires, and what a deploy keeps of each colour (deploy.sh export_colours)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from scripts.control_plane.records import Rotation, Service, ServiceRow

Colour = Literal["blue", "green"]
COLOURS: tuple[Colour, Colour] = ("blue", "green")
APPS = ("django", "fastapi")

LIVE_LABEL = "partscat.live-colour"
SINCE_LABEL = "partscat.live-since"
CANDIDATE_LABEL = "partscat.candidate-colour"
# The canary (decisions/canary.py): the share of users on the candidate, the X-Canary values that always reach
# it, and the thresholds of the last analysis (shown by status).
CANARY_LABEL = "partscat.canary-percent"
CANARY_ALLOW_LABEL = "partscat.canary-allow"
CANARY_THRESHOLDS_LABEL = "partscat.canary-thresholds"


class ReleaseStateError(ValueError):
    """A label holds something that is no colour: the state was edited by hand."""


def colour_parse(value: str, *, label: str) -> Colour:
    for colour in COLOURS:
        if value == colour:
            return colour
    raise ReleaseStateError(f"the nginx service's label {label} is {value!r}, neither blue nor green")


def other_colour(colour: Colour) -> Colour:
    return "green" if colour == "blue" else "blue"


@dataclass(frozen=True)
class ReleaseState:
    """The live colour (blue until the first switch), since when, the candidate bluegreen deploy made, and the
    canary: the share of users the candidate takes and the X-Canary values that always reach it."""

    live: Colour
    live_since: str
    candidate: Colour | None
    canary_percent: int = 0
    canary_allow: tuple[str, ...] = ()
    canary_thresholds: str = ""

    @property
    def idle(self) -> Colour:
        return other_colour(self.live)


def release_state(labels: Mapping[str, str]) -> ReleaseState:
    """The state from the nginx service's labels; an unset or empty label means no value (no stack yet: blue)."""
    live = labels.get(LIVE_LABEL, "")
    candidate = labels.get(CANDIDATE_LABEL, "")
    percent = labels.get(CANARY_LABEL, "").strip() or "0"
    if not percent.isdigit() or int(percent) > 100:
        raise ReleaseStateError(f"the nginx service's label {CANARY_LABEL} is {percent!r}, not a share 0-100")
    return ReleaseState(
        live=colour_parse(live, label=LIVE_LABEL) if live else "blue",
        live_since=labels.get(SINCE_LABEL, ""),
        candidate=colour_parse(candidate, label=CANDIDATE_LABEL) if candidate else None,
        canary_percent=int(percent),
        canary_allow=tuple(labels.get(CANARY_ALLOW_LABEL, "").split()),
        canary_thresholds=labels.get(CANARY_THRESHOLDS_LABEL, ""),
    )


def app_service(stack: str, app: str, colour: Colour) -> str:
    return f"{stack}_{app}-{colour}"


def service_name(stack: str, name: str, live: Colour) -> str:
    """The Swarm service behind a name: an app (django, fastapi) means its live colour; others pass through;
    the stack's prefix is optional (lib.sh service_name)."""
    short = name.removeprefix(f"{stack}_")
    if short in APPS:
        return app_service(stack, short, live)
    return f"{stack}_{short}"


def colour_readiness(
    *, stack: str, colour: Colour, replicas: int, rows: Sequence[ServiceRow], rotations: Sequence[Rotation]
) -> str | None:
    """Why COLOUR is not ready for users, or None: both apps must run REPLICAS (> 0) healthy tasks and every
    Nginx task on this node must have all of them in rotation (bluegreen.sh colour_ready)."""
    if replicas <= 0:
        return f"{colour} has no replicas"
    counts = {row.name: row.replicas for row in rows}
    for app in APPS:
        service = app_service(stack, app, colour)
        if counts.get(service) != f"{replicas}/{replicas}":
            return f"{app}-{colour} runs {counts.get(service, 'no service')} healthy tasks, not {replicas}/{replicas}"
        for index, rotation in enumerate(rotations):
            peers = len(rotation.get(f"{app}-{colour}", ()))
            if peers != replicas:
                return f"nginx task {index + 1} has {peers} of {replicas} {app}-{colour} tasks in rotation"
    return None


@dataclass(frozen=True)
class Refusal:
    reason: str


@dataclass(frozen=True)
class Switch:
    """Switch every Nginx task to `target`; `note` when it is live already (switch is idempotent)."""

    target: Colour
    note: str = ""


def switch_decision(state: ReleaseState, *, readiness: str | None) -> Switch | Refusal:
    """bluegreen switch: only to a deployed candidate that is fully healthy and in rotation."""
    if state.candidate is None:
        return Refusal("no candidate: run bluegreen.sh deploy first")
    if readiness is not None:
        return Refusal(f"{state.candidate} is not fully healthy and in rotation; not switching")
    note = ""
    if state.live == state.candidate:
        note = f"{state.candidate} is already live; making sure every nginx task agrees"
    return Switch(state.candidate, note)


def rollback_decision(state: ReleaseState) -> Switch | Refusal:
    """bluegreen rollback: back to the colour before the candidate, with no checks of its own (it is for the
    bad moment; each Nginx task refuses a colour with no task in rotation by itself)."""
    if state.candidate is None:
        return Refusal("no candidate: nothing was deployed with bluegreen.sh")
    return Switch(other_colour(state.candidate))


def finish_targets(stack: str, state: ReleaseState, replicas: Mapping[str, int | None]) -> list[str]:
    """The services of the colour that is not live that still have replicas: finish scales them to 0."""
    targets = []
    for app in APPS:
        service = app_service(stack, app, state.idle)
        if (replicas.get(service) or 0) != 0:
            targets.append(service)
    return targets


def deploy_colour_variables(
    *,
    stack: str,
    state: ReleaseState,
    built: Mapping[str, str],
    configured_replicas: Mapping[str, int],
    idle_services: Mapping[str, Service],
) -> dict[str, str]:
    """stack.yml's colour variables for a (re-)deploy that disturbs no release in progress: the live colour
    takes the images just built (`built`: DJANGO_IMAGE...) at the configured replicas (DJANGO_REPLICAS...,
    default 2); the idle colour keeps its image and replicas, or is the built image at 0 if it has no service."""
    variables = {
        "LIVE_COLOUR": state.live,
        "LIVE_SINCE": state.live_since,
        "CANDIDATE_COLOUR": state.candidate or "",
        "CANARY_PERCENT": str(state.canary_percent),
        "CANARY_ALLOW": " ".join(state.canary_allow),
        "CANARY_THRESHOLDS": state.canary_thresholds,
    }
    live, idle = state.live.upper(), state.idle.upper()
    for app in APPS:
        upper = app.upper()
        variables[f"{upper}_{live}_IMAGE"] = built[f"{upper}_IMAGE"]
        variables[f"{upper}_{live}_REPLICAS"] = str(configured_replicas.get(app, 2))
        service = idle_services.get(app_service(stack, app, state.idle))
        if service is not None:
            variables[f"{upper}_{idle}_IMAGE"] = service.image
            variables[f"{upper}_{idle}_REPLICAS"] = str(service.replicas or 0)
        else:
            variables[f"{upper}_{idle}_IMAGE"] = built[f"{upper}_IMAGE"]
            variables[f"{upper}_{idle}_REPLICAS"] = "0"
    return variables
