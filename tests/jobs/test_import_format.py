"""The import file format (jobs/import_format.py), in-process: what is a good row, what is a bad one, at which
line, and that the reader streams (pieces of any size, a row at a time)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from jobs.import_format import FileProblem, PartRow, RowProblem, rows_read
from tests.jobs.conftest import csv_bytes

# A part name with a line break in it (quoted in CSV).
TWO_LINES = "\n".join(["Две", "строки"])

GOOD_CSV = csv_bytes(
    ["name", "mark", "model", "price", "color", "is_new_part", "count", "is_visible"],
    ["Бампер передний", "Honda", "Accord", "2300", "черный", "true", "4", ""],
    ['"Фильтр, ""масляный"""', "toyota", "camry", "0", "", "", "", "false"],
    [f'"{TWO_LINES}"', "BMW", "X5", "15", "", "FALSE", "0", "TRUE"],
    [""],
    ["Spark plug", "Lada", "Vesta", "10", "", "", "", ""],
)


def read(data: bytes, file_format: str, piece: int = 7) -> list[PartRow | RowProblem]:
    """The rows of ``data`` fed in pieces of ``piece`` bytes (cutting characters, lines and values)."""
    pieces = [data[start : start + piece] for start in range(0, len(data), piece)]
    return list(rows_read(chunks=pieces, file_format=file_format))


def problem(data: bytes, file_format: str) -> FileProblem:
    with pytest.raises(FileProblem) as caught:
        read(data, file_format)
    return caught.value


@pytest.mark.parametrize("piece", [1, 3, 7, 1 << 20])
def test_good_csv_in_pieces_of_any_size(piece: int) -> None:
    rows = read(GOOD_CSV, "csv", piece)
    assert rows == [
        PartRow(
            2, "Бампер передний", "Honda", "Accord", 2300, {"color": "черный", "is_new_part": True, "count": 4}, True
        ),
        PartRow(3, 'Фильтр, "масляный"', "toyota", "camry", 0, {}, False),
        PartRow(4, TWO_LINES, "BMW", "X5", 15, {"is_new_part": False, "count": 0}, True),
        PartRow(7, "Spark plug", "Lada", "Vesta", 10, {}, True),
    ]


def test_csv_header_in_any_order_and_case_with_a_bom() -> None:
    rows = read("\ufeffPrice, MODEL ,Mark,Name\r\n5,Accord,Honda,Radiator\r\n".encode(), "csv")
    assert rows == [PartRow(2, "Radiator", "Honda", "Accord", 5, {}, True)]


def test_bad_csv_rows_each_with_line_and_reasons() -> None:
    data = (
        b"name,mark,model,price,count,is_new_part\n"
        b"ok,Honda,Accord,1,,\n"
        b",Honda,Accord,-1,,\n"
        b"x,Honda,Accord,1.5,2,yes\n"
        b"x,Honda,Accord\n"
        b"x,,Accord,99999999999,-3,\n"
    )
    rows = read(data, "csv")
    assert isinstance(rows[0], PartRow)
    assert rows[1:] == [
        RowProblem(3, "name: required; price: must be a whole number from 0 to 2147483647"),
        RowProblem(4, "price: must be a whole number from 0 to 2147483647; is_new_part: must be true or false"),
        RowProblem(5, "3 fields where the header has 6"),
        RowProblem(
            6,
            "mark: required; price: must be a whole number from 0 to 2147483647; "
            "count: must be a whole number from 0 to 2147483647",
        ),
    ]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("name,mark,model,price,colour", "unknown column(s) 'colour'"),
        ("name,mark,model,price,price", "column(s) price repeated"),
        ("name,mark,price", "lacks the required column(s) model"),
    ],
)
def test_a_bad_header_rejects_the_file(header: str, reason: str) -> None:
    caught = problem(f"\n{header}\nx,Honda,Accord,1\n".encode(), "csv")
    assert caught.line == 2
    assert reason in caught.reason


def test_broken_csv_quoting_is_reported_where_the_record_began() -> None:
    caught = problem(b'name,mark,model,price\nok,Honda,Accord,1\n"open,Honda,Accord,1\nx,Honda,Accord,2\n', "csv")
    assert (caught.line, caught.reason) == (3, "broken CSV: unexpected end of data")
    caught = problem(b'name,mark,model,price\nok,Honda,Accord,1\n"a"b,Honda,Accord,1\n', "csv")
    assert caught.line == 3
    assert caught.reason.startswith("broken CSV: ")


@pytest.mark.parametrize("piece", [1, 5, 1 << 20])
def test_not_utf8_is_reported_at_its_line(piece: int) -> None:
    data = csv_bytes(["name,mark,model,price"], ["ok,Honda,Accord,1"], ["Бампер", "Honda,Accord,2"])
    data += b"caf\xe9,Honda,Accord,3\n"
    caught = problem_in_pieces(data, piece)
    assert caught.line == 4
    assert caught.reason.startswith("not UTF-8 text (byte 0xe9")
    # Cut inside the last character: the file ends in the middle of one.
    caught = problem_in_pieces("name,mark,model,price\nБ".encode()[:-1], piece)
    assert caught.line == 2
    assert "ends inside a character" in caught.reason


def problem_in_pieces(data: bytes, piece: int) -> FileProblem:
    with pytest.raises(FileProblem) as caught:
        read(data, "csv", piece)
    return caught.value


def test_an_overlong_line_stops_the_reader() -> None:
    with pytest.raises(FileProblem, match="a line longer than"):
        read(b"name,mark,model,price\n" + b"x" * (2 << 20), "csv", 1 << 20)


def test_empty_and_header_only_files_have_no_rows() -> None:
    assert read(b"", "csv") == []
    assert read(b"name,mark,model,price\n\n", "csv") == []
    assert read(b"", "json") == []
    assert read(b" [ ] \n", "json") == []


def json_array(rows: list[object], *, indent: int | None) -> bytes:
    return json.dumps(rows, ensure_ascii=False, indent=indent).encode()


GOOD_JSON_ROWS: list[object] = [
    {"name": "Бампер передний", "mark": "Honda", "model": "Accord", "price": 2300, "color": "черный", "count": 4},
    {"name": "Капот", "mark": "BMW", "model": "X5", "price": 7, "is_new_part": False, "is_visible": False},
    {"name": "Фара", "mark": "Lada", "model": "Vesta", "price": 12345678, "color": None, "count": None},
]
GOOD_JSON_PARSED = [
    ("Бампер передний", "Honda", "Accord", 2300, {"color": "черный", "count": 4}, True),
    ("Капот", "BMW", "X5", 7, {"is_new_part": False}, False),
    ("Фара", "Lada", "Vesta", 12345678, {}, True),
]


def fields(rows: list[PartRow | RowProblem]) -> list[tuple[object, ...]]:
    assert all(isinstance(row, PartRow) for row in rows), rows
    return [(r.name, r.mark, r.model, r.price, r.json_data, r.is_visible) for r in rows if isinstance(r, PartRow)]


@pytest.mark.parametrize("piece", [1, 4, 1 << 20])
def test_json_array_on_one_line_or_indented_and_json_lines(piece: int) -> None:
    one_line = read(json_array(GOOD_JSON_ROWS, indent=None), "json", piece)
    assert fields(one_line) == GOOD_JSON_PARSED
    assert [row.line for row in one_line] == [1, 1, 1]
    indented = read(json_array(GOOD_JSON_ROWS, indent=2), "json", piece)
    assert fields(indented) == GOOD_JSON_PARSED
    assert [row.line for row in indented] == [2, 10, 18]
    lines = b"\n".join(json.dumps(row, ensure_ascii=False).encode() for row in GOOD_JSON_ROWS) + b"\n\n"
    assert [row.line for row in read(lines, "json", piece)] == [1, 2, 3]
    assert fields(read(lines, "json", piece)) == GOOD_JSON_PARSED


def test_bad_json_rows_each_with_line_and_reasons() -> None:
    data = b"""[
  {"name": "ok", "mark": "Honda", "model": "Accord", "price": 1},
  {"name": "x", "mark": "Honda", "model": "Accord", "price": 1.0},
  {"name": "x", "mark": "Honda", "model": "Accord", "price": true, "is_new_part": "yes"},
  [1, 2],
  {"name": "x", "mark": "Honda", "model": "Accord", "price": 1, "json_data": {}},
  {"name": 5, "mark": "Honda", "model": null, "price": 1, "count": -1}
]"""
    rows = read(data, "json")
    assert isinstance(rows[0], PartRow)
    assert rows[1:] == [
        RowProblem(3, "price: must be a whole number from 0 to 2147483647"),
        RowProblem(4, "price: must be a whole number from 0 to 2147483647; is_new_part: must be true or false"),
        RowProblem(5, "not a JSON object"),
        RowProblem(6, "unknown key(s) 'json_data'"),
        RowProblem(7, "name: must be a string; model: required; count: must be a whole number from 0 to 2147483647"),
    ]


@pytest.mark.parametrize(
    ("data", "line", "reason"),
    [
        (b'[\n{"name": "a"},\n{"name": "b"\n', 4, "invalid JSON: "),
        (b'[\n{"name": "a"}\n{"name": "b"}]', 3, "expected ',' or ']', found '{'"),
        (b'[\n{"name": "a"},\n]', 3, "invalid JSON: Expecting value"),
        (b'[{"name": "a"}] []', 1, "data after the closing ']'"),
        (b'{"name": "a"}\n{"name": \n', 3, "invalid JSON: Expecting value"),
        (b"[\n\n", 3, "invalid JSON: "),
        (b"name,mark\n", 1, "invalid JSON: "),
    ],
)
def test_malformed_json_rejects_the_file_at_its_line(data: bytes, line: int, reason: str) -> None:
    caught = problem(data, "json")
    assert caught.line == line, caught
    assert reason in caught.reason


def test_the_reader_streams_a_row_at_a_time() -> None:
    """Rows come out while the file is still being read: the reader never asks for the whole file first."""
    consumed = 0

    def pieces() -> Iterator[bytes]:
        nonlocal consumed
        yield b"["
        for number in range(100_000):
            consumed += 1
            yield (b"," if number else b"") + b'{"name":"n","mark":"Honda","model":"Accord","price":%d}' % number
        yield b"]"

    rows = rows_read(chunks=pieces(), file_format="json")
    first = next(rows)
    assert isinstance(first, PartRow)
    assert consumed < 10
    assert sum(1 for _ in rows) == 99_999
