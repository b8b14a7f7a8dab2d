"""The import job, through a real worker: a good file is applied whole, a bad one (bad rows, unknown marks,
broken quoting or JSON, not UTF-8, empty) is rejected whole with its lines and reasons and the catalog left as
it was; a 200 000-row file streams through in bounded memory. The upload is deleted when the job ends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.jobs.conftest import JobsClient, csv_bytes
from tests.servers import Worker

# A part name with a line break in it (quoted in CSV).
TWO_LINES = "\n".join(["Две", "строки"])

PARTS_OF_JOB_SQL = """
SELECT p.name, m.name AS mark, d.name AS model, p.price, p.json_data, p.is_visible
FROM part p JOIN mark m ON m.id = p.mark_id JOIN model d ON d.id = p.model_id
WHERE p.id > %s ORDER BY p.id
"""


def last_part_id(jobs: JobsClient) -> int:
    return int(jobs.one("SELECT coalesce(max(id), 0) AS id FROM part")["id"])


def imported(jobs: JobsClient, after: int) -> list[tuple[Any, ...]]:
    return [tuple(row.values()) for row in jobs.conn.execute(PARTS_OF_JOB_SQL, (after,)).fetchall()]


def rejected(jobs: JobsClient, data: bytes, file_format: str) -> dict[str, Any]:
    """Import ``data``, expect it rejected with the catalog untouched and the upload gone; the job's error."""
    before = jobs.fingerprint()
    job_id = jobs.create_import(data, file_format)
    job = jobs.wait(job_id)
    assert job["status"] == "failed", job
    assert job["result"] is None
    assert jobs.fingerprint() == before  # not a row, not even a catalog version bump
    assert jobs.chunks(job_id) == 0
    return dict(job["error"])


def test_good_csv_is_applied_whole(jobs: JobsClient) -> None:
    data = csv_bytes(
        ["name", "mark", "model", "price", "color", "is_new_part", "count", "is_visible"],
        ["Бампер передний", "Honda", "Accord", "2300", "черный", "true", "4", ""],
        ['"Фильтр, ""масляный"""', "toyota", "CAMRY", "0", "", "", "", "false"],
        [f'"{TWO_LINES}"', "BMW", "X5", "15", "", "false", "0", "true"],
    )
    after = last_part_id(jobs)
    version = jobs.fingerprint()[4]
    job_id = jobs.create_import(data, "csv")
    job = jobs.wait(job_id)
    assert job["status"] == "done", job["error"]
    assert job["result"] == {"rows": 3, "parts_created": 3, "marks": {"BMW": 1, "Honda": 1, "Toyota": 1}}
    assert job["progress"] == 100
    assert imported(jobs, after) == [
        ("Бампер передний", "Honda", "Accord", 2300, {"color": "черный", "count": 4, "is_new_part": True}, True),
        ('Фильтр, "масляный"', "Toyota", "Camry", 0, {}, False),
        (TWO_LINES, "BMW", "X5", 15, {"count": 0, "is_new_part": False}, True),
    ]
    assert jobs.chunks(job_id) == 0
    # The next search sees the import: the search cache's key, the catalog version, moved with it.
    assert jobs.fingerprint()[4] != version


def test_json_array_and_json_lines_are_applied(jobs: JobsClient) -> None:
    rows = [
        {"name": "Капот", "mark": "Lada", "model": "Vesta", "price": 7000, "is_new_part": False},
        {"name": "Spoiler", "mark": "Hyundai", "model": "Solaris", "price": 1, "color": "Red", "is_visible": False},
    ]
    expected = [
        ("Капот", "Lada", "Vesta", 7000, {"is_new_part": False}, True),
        ("Spoiler", "Hyundai", "Solaris", 1, {"color": "Red"}, False),
    ]
    for data in (
        json.dumps(rows, ensure_ascii=False, indent=1).encode(),
        b"\n".join(json.dumps(row).encode() for row in rows),
    ):
        after = last_part_id(jobs)
        job = jobs.wait(jobs.create_import(data, "json"))
        assert job["status"] == "done", job["error"]
        assert job["result"] == {"rows": 2, "parts_created": 2, "marks": {"Hyundai": 1, "Lada": 1}}
        assert imported(jobs, after) == expected


def test_bad_rows_reject_the_file_with_their_lines_and_reasons(jobs: JobsClient) -> None:
    data = (
        b"name,mark,model,price,count\n"
        b"ok,Honda,Accord,1,\n"
        b"bad price,Honda,Accord,-5,\n"
        b"no such mark,Ford,Focus,1,\n"
        b"model of another mark,Honda,Camry,1,\n"
        b",Honda,Accord,1,x\n"
        b"ok too,BMW,X5,2,3\n"
    )
    error = rejected(jobs, data, "csv")
    assert error == {
        "message": "the file has 4 bad rows; nothing was imported",
        "bad_rows": 4,
        "rows": 6,
        "lines": [
            {"line": 3, "reason": "price: must be a whole number from 0 to 2147483647"},
            {"line": 4, "reason": "mark: no mark named 'Ford'"},
            {"line": 5, "reason": "model: Honda has no model named 'Camry'"},
            {"line": 6, "reason": "name: required; count: must be a whole number from 0 to 2147483647"},
        ],
    }


def test_bad_json_rows_reject_the_file(jobs: JobsClient) -> None:
    data = b'[\n{"name": "ok", "mark": "Honda", "model": "Accord", "price": 1},\n{"name": "x", "mark": "Honda"}\n]'
    error = rejected(jobs, data, "json")
    assert error["lines"] == [{"line": 3, "reason": "model: required; price: required"}]
    assert error["bad_rows"] == 1


def test_the_list_of_bad_lines_is_capped_and_every_bad_row_counted(jobs: JobsClient) -> None:
    data = b"name,mark,model,price\n" + b"x,Honda,Accord,-1\n" * 250
    error = rejected(jobs, data, "csv")
    assert error["bad_rows"] == 250
    assert len(error["lines"]) == 100
    assert error["lines"][-1] == {"line": 101, "reason": "price: must be a whole number from 0 to 2147483647"}


# jobs.models.JOB_ERROR_MAX_BYTES: the most a job's stored error holds, as compact UTF-8 JSON.
JOB_ERROR_MAX_BYTES = 16 * 1024


def test_a_stored_error_is_cut_to_its_size_limit_keeping_the_first_lines_and_the_counts(jobs: JobsClient) -> None:
    # 150 JSON rows, one a line, each with 400 unknown keys: each reason names them all (6 413 characters), so
    # the 100 lines listed made a 643 791-byte error before the runner bounded it.
    row = {"name": "x", "mark": "Honda", "model": "Accord", "price": 1} | {f"unknown_{n:04d}": 1 for n in range(400)}
    data = ("[\n" + ",\n".join(json.dumps(row) for _ in range(150)) + "\n]").encode()

    error = rejected(jobs, data, "json")

    assert len(json.dumps(error, ensure_ascii=False, separators=(",", ":")).encode()) <= JOB_ERROR_MAX_BYTES
    assert error["truncated"] is True
    assert (error["message"], error["bad_rows"], error["rows"]) == (
        "the file has 150 bad rows; nothing was imported",
        150,
        150,
    )
    lines = error["lines"]
    assert 10 <= len(lines) < 100
    assert [line["line"] for line in lines] == list(range(2, 2 + len(lines)))  # the first ones, in order
    for line in lines:
        assert line["reason"].startswith("unknown key(s) 'unknown_0000', 'unknown_0001'")
        assert line["reason"].endswith("…") and len(line["reason"]) == JOB_ERROR_MAX_BYTES // 32


def test_empty_file_and_header_only_are_rejected(jobs: JobsClient) -> None:
    for data, file_format in ((b"", "csv"), (b"name,mark,model,price\n", "csv"), (b"", "json"), (b"[]", "json")):
        error = rejected(jobs, data, file_format)
        assert error == {"message": "the file has no rows; nothing was imported", "bad_rows": 0, "lines": [], "rows": 0}


def test_malformed_files_are_rejected_where_the_parser_gave_up(jobs: JobsClient) -> None:
    good = "ok,Honda,Accord,1\n"
    csv_data = f'name,mark,model,price\n{good}"unclosed,Honda,Accord,1\n{good}'.encode()
    error = rejected(jobs, csv_data, "csv")
    assert error["lines"] == [{"line": 3, "reason": "broken CSV: unexpected end of data"}]
    assert error["message"] == "the file has 1 bad row; nothing was imported"
    json_data = b'[\n{"name": "ok", "mark": "Honda", "model": "Accord", "price": 1}\n{"name": "x"}\n]'
    error = rejected(jobs, json_data, "json")
    assert error["lines"] == [{"line": 3, "reason": "invalid JSON: expected ',' or ']', found '{'"}]


def test_a_file_that_is_not_utf8_is_rejected_at_its_line(jobs: JobsClient) -> None:
    latin = "name,mark,model,price\nok,Honda,Accord,1\nCapó,Honda,Accord,2\n".encode("latin-1")
    error = rejected(jobs, latin, "csv")
    assert error["lines"] == [{"line": 3, "reason": "not UTF-8 text (byte 0xf3: invalid continuation byte)"}]


def peak_rss_kib(worker: Worker) -> int:
    """The largest peak resident size among the worker's pool processes (VmHWM), in KiB."""
    peaks = []
    for pid in worker.pool_pids():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]))
    assert peaks
    return max(peaks)


def test_a_200k_row_file_streams_through_in_bounded_memory(jobs: JobsClient, jobs_worker: Worker) -> None:
    rows = 200_000
    names = ("Honda,Accord", "Toyota,Camry", "BMW,X5", "Lada,Vesta", "Hyundai,Solaris")
    flags = ("false", "true")

    def pieces() -> Iterator[bytes]:
        yield b"name,mark,model,price,color,is_new_part\n"
        for start in range(0, rows, 1000):
            yield b"".join(
                csv_bytes([f"Деталь {n}", names[n % 5], str(n % 100_000), "черный" if n % 3 else "", flags[n % 2]])
                for n in range(start, start + 1000)
            )

    before = jobs.parts()
    baseline = peak_rss_kib(jobs_worker)
    job = jobs.wait(jobs.create_import(pieces(), "csv"), timeout=120)
    assert job["status"] == "done", job["error"]
    assert job["result"]["rows"] == rows
    assert jobs.parts() == before + rows
    # The file is 12 MB; held whole as rows it would take hundreds of MB. Streamed, a pool process grows by
    # about a chunk, a batch of rows and the mark/model names.
    grown_mib = (peak_rss_kib(jobs_worker) - baseline) / 1024
    assert grown_mib < 60, f"a pool process grew by {grown_mib:.0f} MiB"
