"""Admin base class: every change made through the admin site lands in the audit trail."""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction

from wangge.audit.services import record


class AuditedAdmin(admin.ModelAdmin):
    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            record(f"admin.{'change' if change else 'add'}", obj,
                   detail={"fields": sorted(form.changed_data)} if form else None)

    def delete_model(self, request, obj):
        with transaction.atomic():
            label, pk = obj._meta.label_lower, obj.pk
            super().delete_model(request, obj)
            record("admin.delete", object_type=label, object_id=pk)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)
