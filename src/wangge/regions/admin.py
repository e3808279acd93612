from django.contrib import admin

from wangge.core.admin import AuditedAdmin

from .models import LevelName, Region


@admin.register(Region)
class RegionAdmin(AuditedAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)
    readonly_fields = ("path",)


@admin.register(LevelName)
class LevelNameAdmin(AuditedAdmin):
    list_display = ("level", "name_zh", "name_en")
