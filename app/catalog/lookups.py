"""``column = ANY(ARRAY(SELECT ...))`` for the ORM: the search's groups step resolves a mark, model, country or
part-name filter the way FastAPI's statement does (fastapi_search/queries.py).

``column IN (SELECT ...)``, what ``__in`` with a queryset writes, is a semi-join that PostgreSQL plans with
its estimates of both sides, and those are poor for a substring of a name: on the realistic catalog at a
million parts ``{"model_name": "z7 hybrid", "part_name": "front"}`` estimated 8 matching names for 1 035 and
ran the model lookup, a scan of 2 000 models, once per name (870 ms). ``ARRAY(SELECT ...)`` is an InitPlan:
run once, before the scan, its values then used like constants on the groups' indexes (5 ms here).

Since ``part_names`` has a trigram index on ``upper(name)`` (migration 0012), PostgreSQL has statistics on that
expression and estimates a substring's names well; the groups step then joins the names with a mark, model or
country filter (``IN``), which probes each name's groups with the mark too (service_common/totals.py, "Part
names"). The array stays for a lookup alone.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Field, ForeignObject, Lookup

from catalog.statements import Slot


@ForeignObject.register_lookup
@Field.register_lookup
class AnyOf(Lookup):
    """``field__any_of=ArraySubquery(queryset)`` or ``field__any_of=[...]``: the field equals one of the array's
    values. A list, or a search's array slot (catalog/statements.py), goes as one typed array parameter, where
    ``__in`` writes a placeholder per value."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if self.rhs_is_direct_value() or isinstance(self.rhs, Slot):
            # Typed as the column: psycopg sends a list of small ints as smallint[], and PostgreSQL then
            # estimates ``bigint = ANY(smallint[])`` without the column's statistics (a deep page of a name on
            # the realistic million walked the model index through all 966 000 rows: 2 s, 82 ms typed).
            rhs = f"{rhs}::{self.lhs.output_field.cast_db_type(connection)}[]"
        return f"{lhs} = ANY({rhs})", (*lhs_params, *rhs_params)
