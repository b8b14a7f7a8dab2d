"""Admin for marks, models and parts; the part list stays cheap at a million rows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import QuerySet
from django.utils.functional import cached_property

from catalog.models import Mark, Model, Part

# Below this many rows (by the planner's estimate) the part list counts them exactly.
ESTIMATE_FROM_ROWS = 100_000
# A filtered or searched list counts its matches up to this many (100 pages); "10000" then means "at least".
COUNT_CAP = 10_000


class LargeTablePaginator(Paginator):
    """The admin's paginator without COUNT(*) over a large table.

    Unfiltered, the count is PostgreSQL's estimate (pg_class.reltuples, kept by autovacuum and ANALYZE), once
    the table is large enough that an exact count costs a scan. Filtered or searched, matches are counted up
    to COUNT_CAP: ``SELECT count(*) FROM (... LIMIT COUNT_CAP)`` stops early instead of reading every match.
    """

    @cached_property
    def count(self) -> int:
        queryset: QuerySet[Any] = self.object_list  # type: ignore[assignment]  # the admin's is a QuerySet
        if not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [queryset.model._meta.db_table]
                )
                row = cursor.fetchone()
            # -1: never analysed yet.
            if row is not None and row[0] >= ESTIMATE_FROM_ROWS:
                return int(row[0])
            return int(queryset.count())
        return int(queryset[:COUNT_CAP].count())


@admin.register(Mark)
class MarkAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "producer_country_name", "is_visible"]
    list_filter = ["is_visible"]
    search_fields = ["name", "producer_country_name"]


@admin.register(Model)
class ModelAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "mark", "is_visible"]
    list_filter = ["is_visible", "mark"]
    list_select_related = ["mark"]
    search_fields = ["name"]


@admin.register(Part)
class PartAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "mark", "model", "price", "is_visible"]
    list_filter = ["is_visible", "mark"]
    list_select_related = ["mark", "model"]
    search_fields = ["name"]
    raw_id_fields = ["mark", "model"]
    # A million rows: counting them on every changelist page is the slow part. No "N total" beside a
    # filtered count, and the page count from LargeTablePaginator.
    show_full_result_count = False
    paginator = LargeTablePaginator
