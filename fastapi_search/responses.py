"""JSON responses rendered by orjson, byte for byte what the Django service sends."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSONBytesResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class JSONBodyResponse(Response):
    """A JSON body rendered already (the search cache keeps the bytes), sent as it is."""

    media_type = "application/json"
