"""The parts file of an import job, read a row at a time: every row checked, the file never whole in memory.

The format (what the API tells its users):

- Encoding: UTF-8 (a byte order mark is allowed). Anything else rejects the file at the line of the first byte
  that is not UTF-8.
- CSV (``format: "csv"``): comma-separated, fields quoted with ``"`` as in RFC 4180 (a quoted field may hold
  commas, quotes doubled, and line breaks). The first row is a header naming the columns, in any order, any
  case: ``name``, ``mark``, ``model``, ``price`` are required; ``color``, ``is_new_part``, ``count`` and
  ``is_visible`` are optional. An unknown or repeated column rejects the file. ``price`` and ``count`` are whole
  numbers >= 0 written with digits; ``is_new_part`` and ``is_visible`` are ``true`` or ``false`` (any case). An
  empty optional cell leaves the key out of ``json_data`` (``is_visible`` then defaults to true). Blank lines
  are skipped. Broken quoting rejects the file at the line where the record began.
- JSON (``format: "json"``): either one top-level array of objects (``[{...}, {...}]``, laid out any way) or
  JSON Lines (one object per line). Each object has the CSV's columns as keys: ``name``, ``mark``, ``model``
  (strings), ``price`` (integer >= 0), and optionally ``color`` (string), ``is_new_part`` (boolean), ``count``
  (integer >= 0), ``is_visible`` (boolean, default true); ``null`` is the same as a missing optional key. An
  unknown key makes the row bad. Invalid JSON rejects the file at the line where the parser gave up.
- Text fields are stripped of surrounding white space; ``name`` holds at most 200 characters, ``color`` 100.
  Marks and models are matched by name afterwards (jobs/kinds/imports.py).
- Line numbers count the file's lines from 1 (split at ``\\n``): a CSV row is reported at the line its record
  begins on, a JSON object at the line of its opening brace.
- A file without any row (empty, a header only, ``[]``) is for the caller to reject: it gets no rows.
- Bounds, so that a hostile file cannot fill the worker's memory: a line at most 1 MiB, a CSV field at most
  128 KiB (the csv module's limit), a JSON object at most 1 MiB.

How it streams: the bytes come in chunks (jobs.uploads.upload_read) through an incremental UTF-8 decoder;
CSV is fed to csv.reader a line at a time; JSON is cut into values with json.JSONDecoder.raw_decode over a
buffer that holds at most one chunk plus one unfinished value.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

REQUIRED = ("name", "mark", "model", "price")
OPTIONAL = ("color", "is_new_part", "count", "is_visible")
COLUMNS = REQUIRED + OPTIONAL
INT_MAX = 2**31 - 1  # price and count fit PostgreSQL's integer (and its non-negative check)
NAME_MAX = 200
COLOR_MAX = 100
LINE_MAX = 1 << 20
JSON_VALUE_MAX = 1 << 20
_BOOLEANS = {"true": True, "false": False}
_JSON_SPACE = re.compile(r"[ \t\n\r]*")


@dataclass(frozen=True, slots=True)
class PartRow:
    """A row whose fields are all valid (its mark and model are not resolved yet)."""

    line: int
    name: str
    mark: str
    model: str
    price: int
    json_data: dict[str, Any]
    is_visible: bool


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A bad row: the line it begins on and what is wrong with it."""

    line: int
    reason: str


class FileProblem(Exception):
    """The file cannot be read past ``line`` (not UTF-8, broken quoting or JSON, a bad header)."""

    def __init__(self, *, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def rows_read(*, chunks: Iterable[bytes], file_format: str) -> Iterator[PartRow | RowProblem]:
    """Each row of the file, checked: a PartRow, or a RowProblem saying why it is bad. Raises FileProblem."""
    text = _utf8_text(chunks)
    if file_format == "csv":
        return _csv_rows(text)
    if file_format == "json":
        return _json_rows(text)
    raise ValueError(f"unknown file format {file_format!r}")


# TEXT


def _utf8_text(chunks: Iterable[bytes]) -> Iterator[str]:
    """The chunks decoded as UTF-8 (a leading BOM dropped), failing at the line of the first bad byte."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    newlines = 0  # in the bytes decoded so far

    def problem(exc: UnicodeDecodeError) -> FileProblem:
        # exc.object is the chunk, behind at most the 3 bytes of an unfinished character (which hold no newline).
        line = newlines + exc.object[: exc.start].count(b"\n") + 1
        bad = exc.object[exc.start : exc.start + 1].hex() or "end of file"
        return FileProblem(line=line, reason=f"not UTF-8 text (byte 0x{bad}: {exc.reason})")

    for chunk in chunks:
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise problem(exc) from None
        newlines += chunk.count(b"\n")
        if text:
            yield text
    try:
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise FileProblem(
            line=newlines + 1, reason=f"not UTF-8 text (the file ends inside a character: {exc.reason})"
        ) from None
    if tail:
        yield tail


def _lines(text: Iterator[str]) -> Iterator[str]:
    """The text cut after each ``\\n`` (other line separators stay inside a line, as csv expects)."""
    buffer = ""
    number = 1
    for piece in text:
        buffer = buffer + piece if buffer else piece
        start = 0
        while (end := buffer.find("\n", start)) != -1:
            yield buffer[start : end + 1]
            start = end + 1
            number += 1
        buffer = buffer[start:]
        if len(buffer) > LINE_MAX:
            raise FileProblem(line=number, reason=f"a line longer than {LINE_MAX} characters")
    if buffer:
        yield buffer


# FIELDS


def _text(value: Any, *, key: str, longest: int, required: bool) -> tuple[str | None, str | None]:
    """(value, None) or (None, reason)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, (f"{key}: required" if required else None)
    if not isinstance(value, str):
        return None, f"{key}: must be a string"
    value = value.strip()
    if len(value) > longest:
        return None, f"{key}: longer than {longest} characters"
    return value, None


def _whole(value: Any, *, key: str, required: bool, from_text: bool) -> tuple[int | None, str | None]:
    if from_text and isinstance(value, str):
        value = value.strip()
        if not value:
            value = None
        elif value.isascii() and value.isdigit():
            value = int(value)
    if value is None:
        return None, (f"{key}: required" if required else None)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT_MAX:
        return None, f"{key}: must be a whole number from 0 to {INT_MAX}"
    return value, None


def _boolean(value: Any, *, key: str, from_text: bool) -> tuple[bool | None, str | None]:
    if from_text and isinstance(value, str):
        value = value.strip().lower()
        if not value:
            return None, None
        if value in _BOOLEANS:
            return _BOOLEANS[value], None
        return None, f"{key}: must be true or false"
    if value is None or isinstance(value, bool):
        return value, None
    return None, f"{key}: must be true or false"


def _row(line: int, values: dict[str, Any], *, from_text: bool) -> PartRow | RowProblem:
    reasons: list[str] = []

    def check(pair: tuple[Any, str | None]) -> Any:
        value, reason = pair
        if reason:
            reasons.append(reason)
        return value

    name = check(_text(values.get("name"), key="name", longest=NAME_MAX, required=True))
    mark = check(_text(values.get("mark"), key="mark", longest=NAME_MAX, required=True))
    model = check(_text(values.get("model"), key="model", longest=NAME_MAX, required=True))
    price = check(_whole(values.get("price"), key="price", required=True, from_text=from_text))
    color = check(_text(values.get("color"), key="color", longest=COLOR_MAX, required=False))
    is_new_part = check(_boolean(values.get("is_new_part"), key="is_new_part", from_text=from_text))
    count = check(_whole(values.get("count"), key="count", required=False, from_text=from_text))
    is_visible = check(_boolean(values.get("is_visible"), key="is_visible", from_text=from_text))
    if reasons:
        return RowProblem(line=line, reason="; ".join(reasons))
    json_data = {
        key: value
        for key, value in (("color", color), ("is_new_part", is_new_part), ("count", count))
        if value is not None
    }
    return PartRow(
        line=line,
        name=name,
        mark=mark,
        model=model,
        price=price,
        json_data=json_data,
        is_visible=True if is_visible is None else is_visible,
    )


# CSV


def _csv_header(line: int, record: list[str]) -> list[str]:
    columns = [column.strip().lower() for column in record]
    unknown = [column for column in columns if column not in COLUMNS]
    if unknown:
        raise FileProblem(
            line=line,
            reason=f"unknown column(s) {', '.join(map(repr, unknown))} in the header; columns: {', '.join(COLUMNS)}",
        )
    repeated = sorted({column for column in columns if columns.count(column) > 1})
    if repeated:
        raise FileProblem(line=line, reason=f"column(s) {', '.join(repeated)} repeated in the header")
    missing = [column for column in REQUIRED if column not in columns]
    if missing:
        raise FileProblem(line=line, reason=f"the header lacks the required column(s) {', '.join(missing)}")
    return columns


def _csv_rows(text: Iterator[str]) -> Iterator[PartRow | RowProblem]:
    reader = csv.reader(_lines(text), strict=True)
    columns: list[str] | None = None
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileProblem(line=start, reason=f"broken CSV: {exc}") from None
        if not record or record == [""]:
            continue  # a blank line
        if columns is None:
            columns = _csv_header(start, record)
            continue
        if len(record) != len(columns):
            yield RowProblem(line=start, reason=f"{len(record)} fields where the header has {len(columns)}")
            continue
        yield _row(start, dict(zip(columns, record, strict=True)), from_text=True)


# JSON


class _JsonValues:
    """Successive JSON values of a text stream: a top-level array's items, or whitespace-separated values
    (JSON Lines). Yields (line, value)."""

    def __init__(self, text: Iterator[str]) -> None:
        self.text = text
        self.buffer = ""
        self.pos = 0
        self.line = 1  # the line of buffer[pos]
        self.eof = False
        self.decoder = json.JSONDecoder()

    def _more(self) -> bool:
        """Append the next piece of text, dropping what was consumed; False at the end."""
        if self.eof:
            return False
        piece = next(self.text, None)
        if piece is None:
            self.eof = True
            return False
        self.buffer = self.buffer[self.pos :] + piece
        self.pos = 0
        return True

    def _advance(self, end: int) -> None:
        self.line += self.buffer.count("\n", self.pos, end)
        self.pos = end

    def _peek(self) -> str:
        """The next character that is not white space ("" at the end), without consuming it."""
        while True:
            match = _JSON_SPACE.match(self.buffer, self.pos)
            assert match is not None
            self._advance(match.end())
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._more():
                return ""

    def _value(self) -> tuple[int, Any]:
        self._peek()  # raw_decode does not skip leading white space
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                # Perhaps only cut off by the end of the buffer: read on, up to the largest value allowed.
                if len(self.buffer) - self.pos <= JSON_VALUE_MAX and self._more():
                    continue
                line = self.line + self.buffer.count("\n", self.pos, exc.pos)
                if len(self.buffer) - self.pos > JSON_VALUE_MAX:
                    raise FileProblem(
                        line=self.line, reason=f"a JSON value longer than {JSON_VALUE_MAX} characters"
                    ) from None
                raise FileProblem(line=line, reason=f"invalid JSON: {exc.msg}") from None
            if end == len(self.buffer) and self._more():
                continue  # a number may go on in the next piece
            line = self.line
            self._advance(end)
            return line, value

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        first = self._peek()
        if not first:
            return
        if first != "[":
            while self._peek():
                yield self._value()
            return
        self._advance(self.pos + 1)
        if self._peek() == "]":
            self._advance(self.pos + 1)
        else:
            while True:
                yield self._value()
                after = self._peek()
                if after == "]":
                    self._advance(self.pos + 1)
                    break
                if after != ",":
                    found = repr(after) if after else "the end of the file"
                    raise FileProblem(line=self.line, reason=f"invalid JSON: expected ',' or ']', found {found}")
                self._advance(self.pos + 1)
        if self._peek():
            raise FileProblem(line=self.line, reason="invalid JSON: data after the closing ']' of the array")


def _json_rows(text: Iterator[str]) -> Iterator[PartRow | RowProblem]:
    for line, value in _JsonValues(text):
        if not isinstance(value, dict):
            yield RowProblem(line=line, reason="not a JSON object")
            continue
        unknown = sorted(set(value) - set(COLUMNS))
        if unknown:
            yield RowProblem(line=line, reason=f"unknown key(s) {', '.join(map(repr, unknown))}")
            continue
        yield _row(line, value, from_text=False)
