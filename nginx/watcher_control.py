"""Client of the control server (nginx.conf, lua/edge_control.lua): one request, and the drain before an action."""

from __future__ import annotations

import http.client
import os
import time
from collections.abc import Callable

from watcher_log import log

# nginx.conf's control server (listens on 127.0.0.1 only).
CONTROL_ADDRESS = ("127.0.0.1", int(os.environ.get("NGINX_CONTROL_PORT", "8091")))


def control_request(method: str, path: str, body: str | None = None, timeout: float = 2.0) -> str:
    """One request to Nginx's control server; raises OSError or RuntimeError when it did not answer 200."""
    connection = http.client.HTTPConnection(*CONTROL_ADDRESS, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "text/plain"})
        response = connection.getresponse()
        text = response.read().decode()
    except http.client.HTTPException as error:
        raise RuntimeError(f"control {method} {path}: {error}") from error
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"control {method} {path} answered {response.status}: {text.strip()}")
    return text


def drain_then(action: Callable[[], None], drain_seconds: float) -> None:
    """Ask the running workers to close client connections after their next response, wait, then act."""
    try:
        control_request("POST", "/edge/drain")
    except (OSError, RuntimeError) as error:
        log(f"drain request failed ({error}); going on without it")
    else:
        time.sleep(drain_seconds)
    action()
