"""search_contract/release.py: the X-Release value from the Swarm service's name and the image's tag."""

from __future__ import annotations

import pytest

from search_contract.release import SERVICE_VARIABLE, TAG_VARIABLE, release_colour, release_from_env
from service_common.environment import InvalidSetting


@pytest.mark.parametrize(
    ("service", "colour"),
    [
        ("partscat_django-blue", "blue"),
        ("partscat_fastapi-green", "green"),
        ("partscat_django", "local"),  # a stack without colours
        ("partscat_django-blue-canary", "local"),  # the suffix decides, not a part inside
        ("partscat_django-Blue", "local"),
        ("blue", "local"),  # no suffix at all
        ("", "local"),
    ],
)
def test_the_colour_is_the_services_blue_or_green_suffix(service: str, colour: str) -> None:
    assert release_colour(service) == colour


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (SERVICE_VARIABLE, TAG_VARIABLE):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    return monkeypatch


def test_the_release_is_colour_dash_tag(env: pytest.MonkeyPatch) -> None:
    assert release_from_env() == "local-dev"
    env.setenv(SERVICE_VARIABLE, "partscat_django-green")
    env.setenv(TAG_VARIABLE, "3f2c1ab-dirty-0a1b2c3d4e")
    assert release_from_env() == "green-3f2c1ab-dirty-0a1b2c3d4e"


@pytest.mark.parametrize("tag", ["v1 beta", "-leading-dash", "tag\r\nX-Injected: 1", "é", "x" * 129])
def test_a_tag_that_is_no_image_tag_is_refused_naming_the_variable(env: pytest.MonkeyPatch, tag: str) -> None:
    env.setenv(TAG_VARIABLE, tag)
    with pytest.raises(InvalidSetting, match=TAG_VARIABLE):
        release_from_env()
