"""Key places — 重点场所: schools, hospitals, hazardous-chemicals sites … on the one map.

A place sits in one grid; ``region_path`` copies the grid's path so the usual scoping
(``scope_path_field``) shows a place to exactly the accounts whose subtree holds its grid.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PlaceKind(models.TextChoices):
    """The kinds of key place a grid keeps an eye on (重点场所类别)."""

    SCHOOL = "school", _("school")  # 学校
    HOSPITAL = "hospital", _("hospital")  # 医院
    HAZARDOUS_CHEMICALS = "hazchem", _("hazardous chemicals site")  # 危化品场所
    MARKET = "market", _("market")  # 农贸市场、商场
    ELDERLY_CARE = "elderly_care", _("elderly care home")  # 养老机构
    CONSTRUCTION_SITE = "construction", _("construction site")  # 建筑工地


class Place(models.Model):
    """A key place — 场所: where it is (WGS-84), what it is and which grid it lies in."""

    scope_path_field = "region_path"

    kind = models.CharField(_("kind"), max_length=16, choices=PlaceKind.choices)
    name = models.CharField(_("name"), max_length=120)
    lon = models.FloatField(_("longitude (WGS-84)"))
    lat = models.FloatField(_("latitude (WGS-84)"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="places",
                               verbose_name=_("grid"))
    region_path = models.CharField(max_length=400, db_index=True, editable=False)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["region_path", "kind", "name"]
        verbose_name = _("key place")
        verbose_name_plural = _("key places")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def save(self, *args, **kwargs) -> None:
        # The path follows the grid: one source of truth for where the place is scoped.
        self.region_path = self.region.path
        super().save(*args, **kwargs)
