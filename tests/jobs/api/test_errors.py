"""The jobs API's refusals are the search's error, bounded alike: however many unknown names a request holds, the
answer names at most MAX_ERROR_FIELDS of them and counts the rest."""

from __future__ import annotations

import httpx
import pytest

from search_contract import MAX_BODY_BYTES
from search_contract.errors import MAX_ERROR_FIELDS
from tests.jobs.api.conftest import assert_error


def _unknown_keys(head: bytes, tail: bytes) -> tuple[bytes, int]:
    """A JSON body of distinct unknown keys between ``head`` and ``tail``, as many as MAX_BODY_BYTES holds."""
    entries: list[bytes] = []
    size = len(head) + len(tail)
    while size + len(entry := f'"{len(entries):x}": 0'.encode()) + 1 <= MAX_BODY_BYTES:
        entries.append(entry)
        size += len(entry) + 1
    return head + b",".join(entries) + tail, len(entries)


# (method, path, body, how many problems it holds). Before the bound they answered 193 998, 319 735 and 17 088
# bytes; now 564, 1 018 and 803.
HOSTILE = {
    "unknown body fields": ("POST", "/api/jobs/", *_unknown_keys(b'{"kind": "seed", ', b"}")),
    "unknown params": ("POST", "/api/jobs/", *_unknown_keys(b'{"kind": "seed", "params": {', b"}}")),
    "unknown query parameters": ("GET", "/api/jobs/?" + "&".join(f"q{n:x}=1" for n in range(450)), b"", 450),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_an_error_stays_small_whatever_the_input(api: httpx.Client, auth: dict[str, str], name: str) -> None:
    method, path, body, problems = HOSTILE[name]
    headers = {**auth, "Content-Type": "application/json"}

    response = api.request(method, path, content=body, headers=headers)

    fields = assert_error(response, 400, "validation_error")
    assert len(fields) == MAX_ERROR_FIELDS
    assert response.json()["error"]["message"].endswith(f" and {problems - MAX_ERROR_FIELDS} more.")
    assert len(response.content) < 2_000, len(response.content)
