"""Registry admin: the records that are not about people — places, buildings, houses,
organisations — and the tag definitions. Persons, their tags and source rows are not here:
administrators run the system, not people, and those rows change only through imports,
linkage and the audited pages."""

from django.contrib import admin

from wangge.core.admin import AuditedAdmin

from .models import Building, House, Organisation, Place, TagDefinition


@admin.register(Place)
class PlaceAdmin(AuditedAdmin):
    list_display = ("name", "kind", "region", "lon", "lat")
    list_filter = ("kind",)
    search_fields = ("name", "region_path")
    raw_id_fields = ("region",)
    readonly_fields = ("region_path", "created_at")


@admin.register(Building)
class BuildingAdmin(AuditedAdmin):
    list_display = ("address", "name", "floors", "region")
    search_fields = ("address", "name", "region_path")
    raw_id_fields = ("region",)
    readonly_fields = ("region_path", "created_at", "updated_at")


@admin.register(House)
class HouseAdmin(AuditedAdmin):
    list_display = ("__str__", "usage", "tenant_count", "region")
    list_filter = ("usage",)
    search_fields = ("building__address", "label", "region_path")
    raw_id_fields = ("region", "building")
    readonly_fields = ("region_path", "created_at", "updated_at")


@admin.register(Organisation)
class OrganisationAdmin(AuditedAdmin):
    list_display = ("name", "kind", "credit_code", "region")
    list_filter = ("kind",)
    search_fields = ("name", "credit_code", "address", "region_path")
    raw_id_fields = ("region",)
    readonly_fields = ("region_path", "created_at", "updated_at")


@admin.register(TagDefinition)
class TagDefinitionAdmin(AuditedAdmin):
    list_display = ("code", "name", "category", "department", "visit_interval_days")
    list_filter = ("category", "department")
    search_fields = ("code", "name")
