from django.contrib import admin

from .models import DeliveryAttempt, Notification


class DeliveryInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["channel", "status", "detail", "at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: inboxes are written by ``services.notify`` (audited), never by hand."""

    list_display = ["created_at", "user", "subject", "read_at"]
    list_filter = ["read_at"]
    search_fields = ["subject", "user__username"]
    readonly_fields = ["user", "subject", "body", "case", "created_at", "read_at"]
    inlines = [DeliveryInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(admin.ModelAdmin):
    list_display = ["at", "channel", "status", "detail", "notification"]
    list_filter = ["channel", "status"]
    readonly_fields = ["notification", "channel", "status", "detail", "at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
