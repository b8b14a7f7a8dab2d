"""Migration operations that keep the serving stack up while they run.

An index on a big table is built with ``CREATE INDEX CONCURRENTLY``: searches keep reading and writing the
table the whole time (a plain ``CREATE INDEX`` blocks writes for the whole build, and its lock request
queues every later statement on the table behind it). Such a migration must say ``atomic = False``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently

# The index of that name in the current schema, and whether PostgreSQL finished building it.
_INDEX_STATE = """
SELECT i.indisvalid
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE c.relname = %s AND pg_table_is_visible(c.oid)
"""


class AddIndexConcurrentlyResumable(AddIndexConcurrently):
    """``AddIndexConcurrently`` that an interrupted earlier attempt cannot block.

    A concurrent build that was cancelled (a SIGTERM during a rolling update, a lock timeout) leaves an
    INVALID index behind, and a plain retry then fails with "relation already exists". This drops such a
    leftover concurrently and builds again; a valid index of that name (built by an attempt that died
    before recording the migration) is kept as it is.
    """

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        self._ensure_not_in_transaction(schema_editor)
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(_INDEX_STATE, [self.index.name])
            row = cursor.fetchone()
        if row is not None and row[0]:
            return
        if row is not None:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(self.index.name)}")
        super().database_forwards(app_label, schema_editor, from_state, to_state)
