"""Administrators' corrections to the official calendar — 工作日历调整."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DayOverride(models.Model):
    """One day whose status an administrator fixed by hand — 节假日/调休 调整.

    Wins over the published schedule (chinesecalendar) and over the weekend rule, so a year
    the library does not know yet can be entered here, and a local closure (a typhoon day,
    a city's own make-up day) can be recorded without waiting for a library release.
    """

    date = models.DateField(_("date"), unique=True)
    is_workday = models.BooleanField(_("is a working day"))
    name = models.CharField(_("name"), max_length=80, blank=True)  # e.g. 国庆节, 国庆调休
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day override")
        verbose_name_plural = _("calendar day overrides")

    def __str__(self) -> str:
        kind = _("workday") if self.is_workday else _("day off")
        return f"{self.date.isoformat()} {kind} {self.name}".strip()
