"""Admin pages for the calendar: day overrides, a year's import, and each year's source."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.core.admin import AuditedAdmin

from . import importer, services
from .models import DayOverride

# A year is at most 366 rows; anything far larger is the wrong file.
MAX_UPLOAD_BYTES = 1024 * 1024


class ScheduleUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV or XLSX file"),
                           help_text=gettext_lazy("Columns: date, is_workday (1/0), name, note."))
    replace_years = forms.BooleanField(
        required=False, label=gettext_lazy("Replace the years in the file"),
        help_text=gettext_lazy("Remove overrides of those years that the file does not list."))
    dry_run = forms.BooleanField(required=False,
                                 label=gettext_lazy("Check only, write nothing"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 1 MB; a year's schedule "
                                          "is a few dozen rows."))
        return upload


@admin.register(DayOverride)
class DayOverrideAdmin(AuditedAdmin):
    list_display = ("date", "weekday", "is_workday", "name", "note", "created_by")
    list_filter = ("is_workday",)
    search_fields = ("name", "note")
    date_hierarchy = "date"
    readonly_fields = ("created_by", "created_at", "updated_at")
    change_list_template = "admin/workcalendar/dayoverride/change_list.html"

    @admin.display(description=gettext_lazy("weekday"))
    def weekday(self, obj: DayOverride) -> str:
        return obj.date.strftime("%a")

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="workcalendar_dayoverride_import"),
                *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        year = timezone.localdate().year
        extra_context = {**(extra_context or {}),
                         "calendar_statuses": [services.calendar_status(y)
                                               for y in (year - 1, year, year + 1)]}
        return super().changelist_view(request, extra_context)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        report = None
        if request.method == "POST":
            form = ScheduleUploadForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                report = importer.import_schedule(
                    upload.read(), filename=upload.name,
                    replace_years=form.cleaned_data["replace_years"],
                    dry_run=form.cleaned_data["dry_run"], user=request.user)
                if report.ok and not report.dry_run:
                    messages.success(request, report.summary())
                    return HttpResponseRedirect(
                        reverse("admin:workcalendar_dayoverride_changelist"))
        else:
            form = ScheduleUploadForm()
        year = timezone.localdate().year
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import a year's schedule"),
            "form": form,
            "report": report,
            "example_year": year + 1,
        }
        return TemplateResponse(request, "admin/workcalendar/dayoverride/import.html", context)
