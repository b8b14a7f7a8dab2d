"""fastapi_search/request_body.py: the body is refused past the contract's limit, and the rest is read and dropped
up to DRAIN_MAX_BYTES so that the 400 reaches the client instead of a reset."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import Request
from starlette.types import Message

from fastapi_search.request_body import DRAIN_MAX_BYTES, body_read
from search_contract import MAX_BODY_BYTES, ContractError, body_too_large

CHUNK = 16 * 1024


class _Client:
    """Sends ``size`` bytes in chunks; counts what the server read of them."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.read = 0

    async def receive(self) -> Message:
        chunk = min(CHUNK, self.left)
        self.left -= chunk
        self.read += chunk
        return {"type": "http.request", "body": b"x" * chunk, "more_body": self.left > 0}


def _request(client: _Client, *, declared: int | None) -> Request:
    headers = [] if declared is None else [(b"content-length", str(declared).encode())]
    return Request({"type": "http", "method": "POST", "path": "/search/part/", "headers": headers}, client.receive)


def _read(size: int, *, declared: bool) -> tuple[bytes | ContractError, int]:
    client = _Client(size)
    try:
        body: bytes | ContractError = asyncio.run(body_read(_request(client, declared=size if declared else None)))
    except ContractError as error:
        body = error
    return body, client.read


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_body_up_to_the_limit_is_read_whole(declared: bool) -> None:
    assert _read(MAX_BODY_BYTES, declared=declared) == (b"x" * MAX_BODY_BYTES, MAX_BODY_BYTES)


@pytest.mark.parametrize(
    ("size", "declared"),
    [
        (MAX_BODY_BYTES + 1, True),
        (MAX_BODY_BYTES + CHUNK + 1, False),
        # The chunk that crosses the limit is the body's last: the drain must not ask for a second stream.
        (MAX_BODY_BYTES + 1, False),
    ],
    ids=["content-length", "chunked", "chunked-last-chunk-over"],
)
def test_a_body_over_the_limit_is_refused_and_drained(size: int, declared: bool) -> None:
    refused, read = _read(size, declared=declared)
    assert isinstance(refused, ContractError)
    assert (refused.status, refused.body()) == (400, body_too_large().body())
    assert read == size, "every byte read, so closing sends no reset"


def test_a_declared_body_past_the_drain_bound_is_refused_unread() -> None:
    refused, read = _read(DRAIN_MAX_BYTES + 1, declared=True)
    assert isinstance(refused, ContractError) and refused.status == 400
    assert read == 0


def test_an_undeclared_body_is_drained_up_to_the_bound_only() -> None:
    refused, read = _read(10 * DRAIN_MAX_BYTES, declared=False)
    assert isinstance(refused, ContractError) and refused.status == 400
    assert DRAIN_MAX_BYTES < read <= DRAIN_MAX_BYTES + CHUNK
