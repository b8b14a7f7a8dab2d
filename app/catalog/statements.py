"""The search's statements, each compiled by the ORM once per shape and then run with new values.

A search builds three to five querysets (catalog/selectors.py). Building and compiling them is most of what
Django spends on a search: over the task workload's first 400 bodies at a million parts, in one Django
process, 2.6 ms of CPU a search through the ORM against 0.25 ms running the very same SQL from a cursor.
Yet a statement's text depends only on which filters a search has (its *shape*), never on their values,
exactly as FastAPI's statements do (fastapi_search/queries.py).

So the querysets are built with a :class:`Slot` where each value goes. The first search of a shape has the
ORM compile them as usual; :func:`compiled` catches the SQL and parameters on their way to the database
(``connection.execute_wrapper``, Django's documented hook) without running them, and keeps them. Every later
search of that shape binds its values into the kept parameters and runs the SQL: the same text the ORM
writes, only not written again. Each value is prepared by its slot's field, as the ORM prepares a value of
that field (a JSON value becomes ``jsonb``, a list an array).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Field, Value


@dataclass(frozen=True, slots=True)
class _Bound:
    """Where a slot's value goes among a statement's parameters."""

    name: str
    field: Field[Any, Any]


class Slot(Value):
    """A value of a search in a queryset, given later: compiles to one parameter, ``%s``, bound by name."""

    def __init__(self, name: str, output_field: Field[Any, Any]) -> None:
        super().__init__(None, output_field=output_field)
        self.name = name

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        return "%s", [_Bound(self.name, self.output_field)]

    def __hash__(self) -> int:
        return hash((Slot, self.name))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Slot) and other.name == self.name


class _Captured(Exception):
    """Raised by the execute wrapper once it holds a statement, so that it is not run."""


@dataclass(frozen=True, slots=True)
class Statement:
    """A compiled statement: its SQL and its parameters, slots among them."""

    sql: str
    parameters: tuple[Any, ...]

    def bind(self, values: Mapping[str, Any]) -> list[Any]:
        """The parameters with each slot's value, prepared by its field as the ORM would."""
        return [
            item.field.get_db_prep_value(values[item.name], connection, prepared=False)
            if isinstance(item, _Bound)
            else item
            for item in self.parameters
        ]

    def run(self, values: Mapping[str, Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The column names and the rows of the statement with these values."""
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.bind(values))
            return [column.name for column in cursor.description], cursor.fetchall()

    def one(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The single row of an aggregate, by column name."""
        names, rows = self.run(values)
        return dict(zip(names, rows[0], strict=True))


_statements: dict[Hashable, Statement] = {}
_lock = threading.Lock()


def compiled(key: Hashable, evaluate: Callable[[], object], *, offset: Slot | None = None) -> Statement:
    """The statement that ``evaluate`` (a queryset's evaluation: ``aggregate()``, ``list()``) would run,
    compiled once per ``key``: the statement's kind and the search's shape.

    ``offset``: the slot of an OFFSET for a statement that ends in LIMIT. A queryset's slice is written into
    the SQL as numbers, so the page is compiled as the first one and the offset appended as a parameter.
    """
    statement = _statements.get(key)
    if statement is not None:
        return statement
    captured: list[Statement] = []

    def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        captured.append(Statement(sql, tuple(params or ())))
        raise _Captured

    # Connected first: a new connection runs statements of its own through the wrappers (contrib.postgres
    # looks up the hstore and citext types), and the first of them would be caught instead.
    connection.ensure_connection()
    with connection.execute_wrapper(capture), contextlib.suppress(_Captured):
        evaluate()
    if len(captured) != 1:
        raise RuntimeError(f"{key!r} ran {len(captured)} statements, not one")
    statement = captured[0]
    if offset is not None:
        if re.search(r" LIMIT \d+$", statement.sql) is None:
            raise RuntimeError(f"{key!r} does not end in LIMIT: {statement.sql[-80:]!r}")
        page_offset = _Bound(offset.name, offset.output_field)
        statement = Statement(f"{statement.sql} OFFSET %s", (*statement.parameters, page_offset))
    with _lock:
        return _statements.setdefault(key, statement)


def compiled_count() -> int:
    """How many statements this process holds compiled."""
    return len(_statements)


def compiled_clear() -> None:
    """Forget every compiled statement: the next search of each shape compiles again."""
    with _lock:
        _statements.clear()
