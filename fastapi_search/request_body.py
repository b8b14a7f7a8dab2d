"""The search's request body, read as a stream and refused once it grows past the contract's limit."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request

from search_contract import MAX_BODY_BYTES, body_too_large

# A body over the limit is still read (and dropped) up to this size before the 400 goes out: a server that
# answers and closes with unread bytes in its socket makes the kernel send a reset, and the client loses
# the answer. Beyond it the client is not one to be polite to: the connection is closed.
DRAIN_MAX_BYTES = 1024 * 1024


async def _discard_rest(stream: AsyncIterator[bytes], already: int) -> None:
    # The same iterator the body was read from: a second request.stream() raises once Starlette has seen the
    # body's last chunk, which is the case when that chunk is the one that crossed the limit (a 500, once).
    size = already
    async for chunk in stream:
        size += len(chunk)
        if size > DRAIN_MAX_BYTES:
            break


async def body_read(request: Request) -> bytes:
    """The request body, refused with the contract's 400 once it grows past the contract's limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        if int(declared) <= DRAIN_MAX_BYTES:
            await _discard_rest(request.stream(), 0)
        raise body_too_large()
    chunks: list[bytes] = []
    size = 0
    stream = request.stream()
    async for chunk in stream:
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            await _discard_rest(stream, size)
            raise body_too_large()
        chunks.append(chunk)
    return b"".join(chunks)
