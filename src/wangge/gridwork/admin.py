from django.contrib import admin

from .models import MatterDecision, MatterItem


class DecisionInline(admin.TabularInline):
    model = MatterDecision
    extra = 0
    can_delete = False
    readonly_fields = ("action", "by", "at", "note")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MatterItem)
class MatterItemAdmin(admin.ModelAdmin):
    """Read-only: the list changes through the service only (audited, with history)."""

    list_display = ("name", "department", "region", "status", "effective_from", "exited_on")
    list_filter = ("status", "frequency")
    search_fields = ("name",)
    inlines = [DecisionInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
