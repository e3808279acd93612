from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from wangge.core.admin import AuditedAdmin

from .models import ApiToken, Department, User


@admin.register(User)
class UserAdmin(AuditedAdmin, BaseUserAdmin):
    list_display = ("username", "display_name", "role", "region", "department", "is_active")
    list_filter = ("role", "is_active")
    search_fields = ("username", "display_name", "region__code", "region__name")
    raw_id_fields = ("region", "department")
    fieldsets = (*BaseUserAdmin.fieldsets,
                 ("wangge", {"fields": ("role", "region", "department", "display_name")}))


@admin.register(Department)
class DepartmentAdmin(AuditedAdmin):
    list_display = ("code", "name", "region", "is_active")
    search_fields = ("code", "name")
    raw_id_fields = ("region",)


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdmin):
    list_display = ("name", "user", "prefix", "scopes", "expires_at", "revoked_at", "last_used_at")
    readonly_fields = ("prefix", "digest", "last_used_at", "created_at")
    raw_id_fields = ("user",)
