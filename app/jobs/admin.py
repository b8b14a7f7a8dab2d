"""Admin for jobs (read only), API tokens (made here, shown once, revoked by an action) and supplier feeds."""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from jobs.auth import api_tokens_revoke, token_digest, token_generate, token_prefix
from jobs.models import ApiToken, Job, SupplierFeed

JOB_FIELDS = (
    "kind",
    "name",
    "params",
    "status",
    "progress",
    "attempts",
    "created_at",
    "started_at",
    "finished_at",
    "heartbeat_at",
    "result",
    "error",
    "checkpoint",
    "created_by",
)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read only: jobs are created through the API (which validates their parameters) and run by the worker."""

    list_display = ["id", "name", "kind", "status", "progress", "attempts", "created_at", "started_at", "finished_at"]
    list_filter = ["status", "kind"]
    search_fields = ["name"]
    list_select_related = ["created_by"]
    show_full_result_count = False
    # Every column but the upload (up to 100 MiB in job_upload_chunk, not shown).
    fields = JOB_FIELDS
    readonly_fields = JOB_FIELDS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ApiTokenAddForm(forms.ModelForm):  # type: ignore[type-arg]
    """A name only: the token is generated on save, and only its digest and prefix are stored."""

    class Meta:
        model = ApiToken
        fields = ["name"]


# The token made by an add, from save_model to response_add of the same request; never stored or logged.
_new_tokens: WeakKeyDictionary[HttpRequest, str] = WeakKeyDictionary()


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
            kwargs["fields"] = ["name"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["name"] if obj is None else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if not change:
            token = token_generate()
            obj.prefix, obj.digest = token_prefix(token), token_digest(token)
            _new_tokens[request] = token
        super().save_model(request, obj, form, change)

    def response_add(self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None) -> HttpResponse:
        """The one time the token is shown: on the page that answers the add (not in a message, which would
        sit in the session or a cookie until read)."""
        token = _new_tokens.pop(request, None)
        if token is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": f"API token {obj.name}",
            "opts": self.opts,
            "token": token,
            "api_token": obj,
        }
        return TemplateResponse(request, "admin/jobs/apitoken/created.html", context)

    @admin.action(description="Revoke the selected API tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = api_tokens_revoke(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Revoked {revoked} API token(s).", messages.SUCCESS)


@admin.register(SupplierFeed)
class SupplierFeedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "url", "is_enabled", "timeout_seconds", "last_status", "last_synced_at"]
    list_filter = ["is_enabled", "last_status"]
    search_fields = ["name", "url"]
    # What the last sync did is the worker's to write.
    readonly_fields = ["created_at", "last_status", "last_synced_at", "last_error"]
