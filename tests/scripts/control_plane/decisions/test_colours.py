"""decisions/colours.py: the blue-green state in the nginx service's labels and every decision about colours."""

from __future__ import annotations

import pytest

from scripts.control_plane.decisions.colours import (
    Refusal,
    ReleaseState,
    ReleaseStateError,
    Switch,
    colour_readiness,
    deploy_colour_variables,
    finish_targets,
    other_colour,
    release_state,
    rollback_decision,
    service_name,
    switch_decision,
)
from scripts.control_plane.records import Service, ServiceRow

STACK = "partscat"


def test_no_stack_or_no_label_means_blue_live_and_no_candidate() -> None:
    assert release_state({}) == ReleaseState(live="blue", live_since="", candidate=None)
    labels = {"partscat.live-colour": "", "partscat.candidate-colour": ""}
    assert release_state(labels) == ReleaseState(live="blue", live_since="", candidate=None)


def test_the_labels_give_the_state() -> None:
    labels = {
        "partscat.live-colour": "green",
        "partscat.live-since": "2026-12-06T05:41:02Z",
        "partscat.candidate-colour": "green",
    }
    state = release_state(labels)
    assert state == ReleaseState(live="green", live_since="2026-12-06T05:41:02Z", candidate="green")
    assert state.idle == "blue"


def test_the_canary_is_part_of_the_state() -> None:
    labels = {
        "partscat.candidate-colour": "green",
        "partscat.canary-percent": "25",
        "partscat.canary-allow": "team-qa bot",
        "partscat.canary-thresholds": "min-requests=50",
    }
    state = release_state(labels)
    assert (state.canary_percent, state.canary_allow, state.canary_thresholds) == (
        25,
        ("team-qa", "bot"),
        "min-requests=50",
    )
    assert release_state({"partscat.canary-percent": ""}).canary_percent == 0
    with pytest.raises(ReleaseStateError, match=r"partscat\.canary-percent is '150'"):
        release_state({"partscat.canary-percent": "150"})


def test_a_label_that_is_no_colour_is_refused_by_name() -> None:
    with pytest.raises(ReleaseStateError, match=r"partscat\.live-colour is 'purple'"):
        release_state({"partscat.live-colour": "purple"})


def test_other_colour() -> None:
    assert (other_colour("blue"), other_colour("green")) == ("green", "blue")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("django", "partscat_django-green"),
        ("fastapi", "partscat_fastapi-green"),
        ("partscat_django", "partscat_django-green"),
        ("django-blue", "partscat_django-blue"),
        ("nginx", "partscat_nginx"),
        ("partscat_redis", "partscat_redis"),
    ],
)
def test_service_name_means_the_live_colour_for_an_app(name: str, expected: str) -> None:
    assert service_name(STACK, name, "green") == expected


def rows(django: str, fastapi: str, colour: str = "green") -> list[ServiceRow]:
    return [
        ServiceRow(id="a", name=f"partscat_django-{colour}", image="i", mode="replicated", replicas=django),
        ServiceRow(id="b", name=f"partscat_fastapi-{colour}", image="i", mode="replicated", replicas=fastapi),
    ]


def test_a_colour_is_ready_when_all_its_tasks_are_healthy_and_in_every_rotation() -> None:
    rotation = {"django-green": ("a:1", "b:1"), "fastapi-green": ("c:1", "d:1")}
    ready = colour_readiness(stack=STACK, colour="green", replicas=2, rows=rows("2/2", "2/2"), rotations=[rotation] * 2)
    assert ready is None


@pytest.mark.parametrize(
    ("replicas", "counts", "rotations", "why"),
    [
        (0, ("0/0", "0/0"), [], "green has no replicas"),
        (2, ("1/2", "2/2"), [], "django-green runs 1/2 healthy tasks, not 2/2"),
        (2, ("2/2", "2/2"), [{"django-green": ("a",), "fastapi-green": ("c", "d")}], "nginx task 1 has 1 of 2"),
        (
            2,
            ("2/2", "2/2"),
            [{"django-green": ("a", "b"), "fastapi-green": ("c", "d")}, {"django-green": ("a", "b")}],
            "nginx task 2 has 0 of 2 fastapi-green",
        ),
    ],
)
def test_a_colour_is_not_ready_and_says_why(
    replicas: int, counts: tuple[str, str], rotations: list[dict[str, tuple[str, ...]]], why: str
) -> None:
    readiness = colour_readiness(
        stack=STACK, colour="green", replicas=replicas, rows=rows(*counts), rotations=rotations
    )
    assert readiness is not None
    assert why in readiness


def test_switch_needs_a_candidate_that_is_ready() -> None:
    no_candidate = ReleaseState(live="blue", live_since="", candidate=None)
    assert switch_decision(no_candidate, readiness=None) == Refusal("no candidate: run bluegreen.sh deploy first")
    candidate = ReleaseState(live="blue", live_since="", candidate="green")
    assert switch_decision(candidate, readiness="django-green runs 1/2") == Refusal(
        "green is not fully healthy and in rotation; not switching"
    )
    assert switch_decision(candidate, readiness=None) == Switch("green")


def test_switch_to_the_live_colour_again_is_allowed_and_said() -> None:
    state = ReleaseState(live="green", live_since="", candidate="green")
    decision = switch_decision(state, readiness=None)
    assert decision == Switch("green", "green is already live; making sure every nginx task agrees")


def test_rollback_goes_to_the_colour_before_the_candidate_without_checks() -> None:
    assert rollback_decision(ReleaseState(live="green", live_since="", candidate="green")) == Switch("blue")
    assert rollback_decision(ReleaseState(live="blue", live_since="", candidate="green")) == Switch("blue")
    assert rollback_decision(ReleaseState(live="blue", live_since="", candidate=None)) == Refusal(
        "no candidate: nothing was deployed with bluegreen.sh"
    )


def test_finish_scales_the_colour_that_is_not_live_where_it_has_replicas() -> None:
    state = ReleaseState(live="green", live_since="", candidate="green")
    replicas: dict[str, int | None] = {"partscat_django-blue": 2, "partscat_fastapi-blue": 0}
    assert finish_targets(STACK, state, replicas) == ["partscat_django-blue"]
    assert finish_targets(STACK, state, {}) == []


def test_a_deploy_gives_the_live_colour_the_built_images_and_the_idle_one_what_it_runs() -> None:
    state = ReleaseState(
        live="green", live_since="2026-12-06T05:41:02Z", candidate="blue", canary_percent=5, canary_allow=("qa",)
    )
    built = {"DJANGO_IMAGE": "django:new", "FASTAPI_IMAGE": "fastapi:new"}
    idle = {"partscat_django-blue": Service(id="x", name="partscat_django-blue", image="django:old", replicas=2)}
    variables = deploy_colour_variables(
        stack=STACK, state=state, built=built, configured_replicas={"django": 3}, idle_services=idle
    )
    assert variables == {
        "LIVE_COLOUR": "green",
        "LIVE_SINCE": "2026-12-06T05:41:02Z",
        "CANDIDATE_COLOUR": "blue",
        # A deploy in the middle of a canary keeps it.
        "CANARY_PERCENT": "5",
        "CANARY_ALLOW": "qa",
        "CANARY_THRESHOLDS": "",
        "DJANGO_GREEN_IMAGE": "django:new",
        "DJANGO_GREEN_REPLICAS": "3",
        "DJANGO_BLUE_IMAGE": "django:old",
        "DJANGO_BLUE_REPLICAS": "2",
        "FASTAPI_GREEN_IMAGE": "fastapi:new",
        "FASTAPI_GREEN_REPLICAS": "2",
        # No fastapi-blue service yet: the built image at 0 replicas.
        "FASTAPI_BLUE_IMAGE": "fastapi:new",
        "FASTAPI_BLUE_REPLICAS": "0",
    }
