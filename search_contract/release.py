"""Which release produced an answer: the ``X-Release: <colour>-<tag>`` header both services put on every answer.

A client (and the canary scenarios) can tell from any answer, errors and 404s included, which colour and which
image answered it: ``blue-3f2c1ab``, ``green-3f2c1ab-dirty-0a1b2c3d4e``, or ``local-dev`` outside the stack.

- The colour is the suffix of ``PARTSCAT_SERVICE``, the Swarm service's name (stack.yml sets it to
  ``{{.Service.Name}}``, e.g. ``partscat_django-blue``), when that suffix is ``blue`` or ``green``; anything
  else (no variable, a service without a colour) is ``local``.
- The tag is ``PARTSCAT_RELEASE_TAG``, baked into the django and fastapi images at build time
  (scripts/build-images.sh passes the image's own tag; the Dockerfiles default to ``dev``).

Read once at start; a tag that is no image tag stops the service, naming the variable.
"""

from __future__ import annotations

import re

from service_common.environment import InvalidSetting, env_value

RELEASE_HEADER = "X-Release"
SERVICE_VARIABLE = "PARTSCAT_SERVICE"
TAG_VARIABLE = "PARTSCAT_RELEASE_TAG"
COLOURS = ("blue", "green")
LOCAL_COLOUR = "local"
DEFAULT_TAG = "dev"
# Docker's tag grammar (scripts/build-images.sh checks the same): it also keeps the header value plain ASCII.
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def release_colour(service: str) -> str:
    """``blue`` or ``green`` from a service name ending in ``-blue`` or ``-green``; else ``local``."""
    _, dash, suffix = service.strip().rpartition("-")
    return suffix if dash and suffix in COLOURS else LOCAL_COLOUR


def release_tag(raw: str) -> str:
    tag = raw.strip()
    if not _TAG.fullmatch(tag):
        raise InvalidSetting(
            f"{TAG_VARIABLE} must be an image tag (Docker's grammar, 128 characters at most), not {tag!r}"
        )
    return tag


def release_from_env() -> str:
    """The ``X-Release`` value, ``<colour>-<tag>``, from ``PARTSCAT_SERVICE`` and ``PARTSCAT_RELEASE_TAG``."""
    colour = release_colour(env_value(SERVICE_VARIABLE, ""))
    return f"{colour}-{release_tag(env_value(TAG_VARIABLE, DEFAULT_TAG))}"
