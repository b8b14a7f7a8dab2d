"""Read configuration from the environment, the way both services and Docker secrets expect.

``NAME`` holds the value; alternatively ``NAME_FILE`` names a file holding it (a
Docker secret mounted under ``/run/secrets``). Missing required values fail fast
with a message naming the variable.
"""

from __future__ import annotations

import os
from pathlib import Path


class MissingSetting(RuntimeError):
    pass


def env_value(name: str, default: str | None = None) -> str:
    """Return ``$NAME``, else the stripped content of the file ``$NAME_FILE``, else ``default``."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise MissingSetting(f"{name}_FILE={path} cannot be read: {exc.strerror}") from None
    if default is not None:
        return default
    raise MissingSetting(f"{name} (or {name}_FILE) must be set")
