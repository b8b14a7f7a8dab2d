"""The parameters each job kind accepts: validated here, for the API and the admin alike.

An error maps a parameter name to what is wrong with it; the API answers it as the shared 400 body.
"""

from __future__ import annotations

import secrets
from typing import Any

from catalog.profiles import DEFAULT_PROFILE, PROFILES

# Largest seed job: 5 million parts (the import streams any size, the seed is for test catalogs).
SEED_PARTS_MAX = 5_000_000


class ParamsError(Exception):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(", ".join(f"{name}: {reason}" for name, reason in fields.items()))
        self.fields = fields


def _integer(value: Any, *, name: str, low: int, high: int) -> int:
    # bool is an int in Python; true is not a number of parts.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamsError({name: "must be an integer"})
    if not low <= value <= high:
        raise ParamsError({name: f"must be between {low} and {high}"})
    return value


def _seed(raw: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(raw) - {"parts", "seed", "profile"})
    if unknown:
        raise ParamsError({name: "unknown parameter" for name in unknown})
    if "parts" not in raw:
        raise ParamsError({"parts": "required"})
    parts = _integer(raw["parts"], name="parts", low=1, high=SEED_PARTS_MAX)
    # Recorded, so that the job (and a re-run of it) is reproducible.
    seed = _integer(raw.get("seed", secrets.randbelow(2**31)), name="seed", low=0, high=2**31 - 1)
    profile = raw.get("profile", DEFAULT_PROFILE)
    if profile not in PROFILES:
        raise ParamsError({"profile": f"must be one of {', '.join(PROFILES)}"})
    return {"parts": parts, "seed": seed, "profile": profile}


def _supplier_sync(raw: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(raw) - {"feed_ids"})
    if unknown:
        raise ParamsError({name: "unknown parameter" for name in unknown})
    if "feed_ids" not in raw:
        return {}  # every enabled feed
    feed_ids = raw["feed_ids"]
    if not isinstance(feed_ids, list) or not feed_ids:
        raise ParamsError({"feed_ids": "must be a non-empty list of feed ids"})
    return {"feed_ids": [_integer(item, name="feed_ids", low=1, high=2**31 - 1) for item in feed_ids]}


VALIDATORS = {"seed": _seed, "supplier_sync": _supplier_sync}


def job_params_validate(*, kind: Any, raw: Any) -> dict[str, Any]:
    """Validated parameters of a job created through POST /api/jobs/ (imports come with a file instead)."""
    if kind == "import":
        raise ParamsError({"kind": "an import takes a file: POST it to /api/jobs/import/"})
    if kind not in VALIDATORS:
        raise ParamsError({"kind": f"must be one of {', '.join(sorted(VALIDATORS))}"})
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ParamsError({"params": "must be an object"})
    return VALIDATORS[kind](raw)


def describe(*, kind: str, params: dict[str, Any]) -> str:
    """A default job name, for a person reading the list."""
    if kind == "seed":
        profile = params.get("profile", DEFAULT_PROFILE)
        return f"seed {params['parts']} parts" + ("" if profile == DEFAULT_PROFILE else f" ({profile} profile)")
    if kind == "supplier_sync":
        feeds = params.get("feed_ids")
        return "supplier sync" + (f" of feeds {', '.join(map(str, feeds))}" if feeds else "")
    return kind
