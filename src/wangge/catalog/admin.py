"""Admin for the catalogue. Datasets may be corrected here (audited like every admin change);
requests, grants and the access log are read-only: they change only through ``service`` (the
decisions, their notifications and audit records) and ``rows`` (one log row per read)."""

from __future__ import annotations

from django.contrib import admin

from wangge.core.admin import AuditedAdmin

from .models import AccessLog, AccessRequest, Dataset, DatasetField


class DatasetFieldInline(admin.TabularInline):
    model = DatasetField
    extra = 0
    fields = ("field_code", "required", "position")


@admin.register(Dataset)
class DatasetAdmin(AuditedAdmin):
    list_display = ("code", "name", "department", "entity", "sharing_class", "frequency",
                    "flows_down", "is_active")
    list_filter = ("sharing_class", "entity", "flows_down", "is_active")
    search_fields = ("code", "name", "department__name")
    raw_id_fields = ("department", "tag")
    inlines = (DatasetFieldInline,)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AccessRequest)
class AccessRequestAdmin(_ReadOnly):
    list_display = ("dataset", "department", "requested_by", "status", "days", "expires_at",
                    "created_at")
    list_filter = ("status",)
    search_fields = ("dataset__code", "department__name", "purpose")


@admin.register(AccessLog)
class AccessLogAdmin(_ReadOnly):
    list_display = ("at", "dataset", "user", "department", "channel", "token_prefix", "rows")
    list_filter = ("channel",)
    search_fields = ("dataset__code", "user__username")
