from django.contrib import admin

from wangge.core.admin import AuditedAdmin

from .models import Place


@admin.register(Place)
class PlaceAdmin(AuditedAdmin):
    list_display = ("name", "kind", "region", "lon", "lat")
    list_filter = ("kind",)
    search_fields = ("name", "region_path")
    raw_id_fields = ("region",)
    readonly_fields = ("region_path", "created_at")
