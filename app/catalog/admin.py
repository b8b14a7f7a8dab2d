from django.contrib import admin

from catalog.models import Mark, Model, Part


@admin.register(Mark)
class MarkAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "producer_country_name", "is_visible"]
    list_filter = ["is_visible"]
    search_fields = ["name"]


@admin.register(Model)
class ModelAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "mark", "is_visible"]
    list_filter = ["is_visible", "mark"]
    search_fields = ["name"]


@admin.register(Part)
class PartAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "mark", "model", "price", "is_visible"]
    list_filter = ["is_visible", "mark"]
    list_select_related = ["mark", "model"]
    search_fields = ["name"]
    raw_id_fields = ["mark", "model"]
    # A million rows: counting them on every changelist page is the slow part.
    show_full_result_count = False
