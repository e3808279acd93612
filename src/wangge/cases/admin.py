"""Admin for the closed loop's reference data; cases themselves are read-only here.

Cases change only through the services (intake, the transition engine), which keep the
timeline, the version lock and the audit trail; the admin therefore shows them without
offering to add, edit or delete.
"""

from __future__ import annotations

from django.contrib import admin

from .models import Assignment, Case, CaseEvent, Category, DeadlineRule, Photo, RoutingRule


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "parent", "is_active", "sort")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name", "name_en")
    autocomplete_fields = ("parent",)


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class EventInline(_ReadOnlyInline):
    model = CaseEvent
    fields = ("at", "action", "from_state", "to_state", "actor_name", "department", "note",
              "step", "step_elapsed_ratio")


class AssignmentInline(_ReadOnlyInline):
    model = Assignment
    fields = ("department", "role", "via_whistle", "report_in_due_at", "reported_in_at",
              "active", "end_reason")


class PhotoInline(_ReadOnlyInline):
    model = Photo
    fields = ("id", "content_type", "size", "width", "height", "uploaded_by", "uploaded_at")


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("code", "title", "category", "state", "source", "region", "due_at",
                    "created_at")
    list_filter = ("state", "source", "urgency")
    search_fields = ("code", "title", "external_id")
    inlines = (AssignmentInline, EventInline, PhotoInline)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return request.method in ("GET", "HEAD")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("category", "region", "lead", "is_active")
    list_filter = ("is_active",)
    raw_id_fields = ("region",)
    filter_horizontal = ("assisting",)


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(admin.ModelAdmin):
    list_display = ("category", "urgency", "step", "working_hours")
    list_filter = ("urgency", "step")
