"""A pgbench script that runs exactly the FastAPI service's SQL with the workload's parameter mix.

Each transaction is one search as the service runs it: the statements its ``part_search`` sent PostgreSQL
for that body, with the same arguments, as scripts/bench/recorder.py recorded them inside a running
FastAPI task on the data being measured (a search is several statements, and a later one takes values the
first one found, so they are recorded rather than rebuilt here). pgbench allows at most 128 script files,
and the workload has more than 1 000 bodies, so one script draws a number and an ``\\if`` / ``\\elif`` chain
(most popular body first, so the chain is short on average) picks the body whose cumulative weight covers
it: the same skew as wrk's draws.

The arguments are written into the SQL as literals. pgbench's simple protocol then sends each statement as
text and PostgreSQL plans it with those values at every execution (the service prepares each statement shape
once and may keep a generic plan: pgbench measures the same SQL, planned every time). A
literal holds only letters, digits, spaces and ``-_.,%``; every other character is a ``U&''`` escape. So no
quote, backslash, newline or ``:`` (pgbench replaces ``:name`` with a variable's value anywhere in a
statement, even inside quotes) is ever written as itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from scripts.bench.workload import WorkloadBody

# $n::type, the only form in which queries.py uses parameters.
_PARAMETER = re.compile(r"\$(\d+)::([a-z]+(?:\[\])?)")
_ANY_PARAMETER = re.compile(r"\$\d")
# A colon that is not part of a :: cast: pgbench would take what follows for a variable.
_LONE_COLON = re.compile(r"(?<!:):(?!:)")
_SAFE_PUNCTUATION = frozenset(" -_.,%")
DRAW_VARIABLE = "draw"


def sql_literal(text: str) -> str:
    """A PostgreSQL string literal for ``text`` that pgbench passes through untouched."""
    if "\x00" in text:
        raise ValueError("PostgreSQL text cannot hold NUL")
    parts = []
    escaped = False
    for char in text:
        if char.isalnum() or char in _SAFE_PUNCTUATION:
            parts.append(char)
        else:
            escaped = True
            code = ord(char)
            parts.append(f"\\{code:04X}" if code <= 0xFFFF else f"\\+{code:06X}")
    body = "".join(parts)
    return f"U&'{body}'" if escaped else f"'{body}'"


def parameter_literal(value: Any, sql_type: str) -> str:
    """The literal for one argument, written for the type its ``$n::type`` cast names."""
    if value is None:
        return "NULL"
    if sql_type == "text":
        if not isinstance(value, str):
            raise TypeError(f"text parameter got {value!r}")
        return sql_literal(value)
    if sql_type in ("boolean", "integer"):
        # A bool is an int in Python: each type takes exactly its own.
        if isinstance(value, bool) != (sql_type == "boolean") or not isinstance(value, int):
            raise TypeError(f"{sql_type} parameter got {value!r}")
        return str(value).lower()
    if sql_type == "bigint[]":
        if isinstance(value, str | bytes) or not all(
            isinstance(item, int) and not isinstance(item, bool) for item in value
        ):
            raise TypeError(f"bigint[] parameter got {value!r}")
        return "ARRAY[" + ",".join(str(item) for item in value) + "]"
    if sql_type == "text[]":
        if isinstance(value, str | bytes) or not all(isinstance(item, str) for item in value):
            raise TypeError(f"text[] parameter got {value!r}")
        return "ARRAY[" + ",".join(sql_literal(item) for item in value) + "]"
    if sql_type == "jsonb":
        # What the service's jsonb codec sends: the value as JSON text.
        return sql_literal(json.dumps(value))
    raise ValueError(f"no literal form for parameter type {sql_type}")


def statement_render(sql: str, arguments: Sequence[Any]) -> str:
    """``sql`` with every ``$n::type`` replaced by ``literal::type``; one line, ending in ``;``."""

    def replace(match: re.Match[str]) -> str:
        index, sql_type = int(match.group(1)), match.group(2)
        if not 1 <= index <= len(arguments):
            raise ValueError(f"${index} has no argument ({len(arguments)} given)")
        return f"{parameter_literal(arguments[index - 1], sql_type)}::{sql_type}"

    rendered = _PARAMETER.sub(replace, sql)
    if _ANY_PARAMETER.search(rendered):
        raise ValueError("a parameter without a ::type cast is left in the statement")
    if _LONE_COLON.search(rendered):
        raise ValueError("the statement holds a ':' that pgbench would read as a variable")
    return " ".join(rendered.split()) + ";"


# One search as recorded: the statements the service ran, each a (statement, arguments) pair (JSON: a list).
RecordedSearch = Sequence[Sequence[Any]]


def search_statements(recorded: RecordedSearch) -> list[str]:
    """The recorded statements of one search, each with its arguments written in."""
    if not recorded:
        raise ValueError("a search without a statement")
    return [statement_render(sql, arguments) for sql, arguments in recorded]


def pgbench_script(bodies: Sequence[WorkloadBody], recorded: Sequence[RecordedSearch]) -> str:
    """One pgbench script: draw a body by weight, run its statements."""
    if not bodies or len(bodies) != len(recorded):
        raise ValueError(f"{len(bodies)} bodies but {len(recorded)} recorded searches")
    total = sum(item.weight for item in bodies)
    lines = [
        "-- Generated by scripts/bench/pgbench_script.py: one FastAPI search per transaction, as",
        "-- scripts/bench/recorder.py recorded it; bodies drawn by weight (scripts/bench/workload.py).",
        f"\\set {DRAW_VARIABLE} random(1, {total})",
    ]
    cumulative = 0
    for position, (item, statements) in enumerate(zip(bodies, recorded, strict=True)):
        cumulative += item.weight
        keyword = "\\if" if position == 0 else "\\elif"
        lines += [f"{keyword} :{DRAW_VARIABLE} <= {cumulative}", *search_statements(statements)]
    lines.append("\\endif")
    return "\n".join(lines) + "\n"
