"""An uploaded file stored as ordered chunks in PostgreSQL (job_upload_chunk), written and read in pieces."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from jobs.models import Job, JobUploadChunk

# 1 MiB a row: few rows for a big file, small enough to stream.
CHUNK_BYTES = 1 << 20


def upload_store(*, job: Job, pieces: Iterable[bytes]) -> int:
    """Store the pieces (any sizes) as CHUNK_BYTES chunks; returns the file's size. Call inside the
    transaction that creates the job, so a job never exists with half a file."""
    size = 0
    seq = 0
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        size += len(piece)
        while len(buffer) >= CHUNK_BYTES:
            JobUploadChunk.objects.create(job=job, seq=seq, data=bytes(buffer[:CHUNK_BYTES]))
            del buffer[:CHUNK_BYTES]
            seq += 1
    if buffer:
        JobUploadChunk.objects.create(job=job, seq=seq, data=bytes(buffer))
    return size


def upload_read(*, job_id: int) -> Iterator[bytes]:
    """The file's bytes, one chunk at a time (one row in memory at once)."""
    seq = 0
    while True:
        chunk = JobUploadChunk.objects.filter(job_id=job_id, seq=seq).values_list("data", flat=True).first()
        if chunk is None:
            return
        yield bytes(chunk)
        seq += 1


def upload_delete(*, job_id: int) -> None:
    JobUploadChunk.objects.filter(job_id=job_id).delete()
