"""One import size limit: Nginx's client_max_body_size on /api/jobs/import/ is Django's JOBS_IMPORT_MAX_BYTES."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx

from tests.jobs.api.conftest import IMPORT_LIMIT
from tests.servers import APP_DIR, ROOT

NGINX_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def _nginx_import_limit() -> int:
    conf = (ROOT / "nginx" / "nginx.conf").read_text(encoding="utf-8")
    # A prefix location, or the regular expression that takes every version's path too (/v1/api/jobs/import/).
    location = re.search(r"location (?:~ \^/\S*)?/?api/jobs/import/ \{(.*?)\n\s*\}", conf, re.DOTALL)
    assert location is not None, "nginx.conf has no /api/jobs/import/ location"
    size = re.search(r"^\s*client_max_body_size\s+(\d+)([kmg]?);", location.group(1), re.MULTILINE | re.IGNORECASE)
    assert size is not None, "the /api/jobs/import/ location sets no client_max_body_size"
    return int(size.group(1)) * NGINX_UNITS[size.group(2).lower()]


def _django_import_limit() -> int:
    """JOBS_IMPORT_MAX_BYTES as the settings make it without the variable (the stack does not set it)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("JOBS_IMPORT_MAX_BYTES")}
    env["DATABASE_URL"] = "postgres://settings-only@127.0.0.1:1/none"  # read, never connected to
    code = "from config.settings import base; print(base.JOBS_IMPORT_MAX_BYTES, base.JOBS_IMPORT_MAX_BYTES_DEFAULT)"
    out = subprocess.run([sys.executable, "-c", code], cwd=APP_DIR, env=env, capture_output=True, text=True, check=True)
    value, default = (int(word) for word in out.stdout.split())
    assert value == default
    return value


def test_nginx_takes_exactly_the_body_size_django_takes() -> None:
    assert _nginx_import_limit() == _django_import_limit() == 100 * 1024 * 1024


def test_the_document_states_the_server_s_limit(api: httpx.Client) -> None:
    description = api.get("/api/openapi.json").json()["paths"]["/api/jobs/import/"]["post"]["description"]
    assert f"at most {IMPORT_LIMIT} bytes" in description
