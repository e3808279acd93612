"""The region tree (行政区划 + 网格): province > city > county > township > community > grid.

One table holds every level, DHIS2-style. Each node stores its materialised ``path`` (the codes
of its ancestors and itself, each followed by a dot), so "everything under node X" is one
indexed prefix query on SQLite and PostgreSQL alike (see ``tree.subtree_q``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.IntegerChoices):
    """Depth in the tree. Display names are configurable in ``LevelName``."""

    PROVINCE = 1, _("province")
    CITY = 2, _("city")
    COUNTY = 3, _("county / district")
    TOWNSHIP = 4, _("township / street")
    COMMUNITY = 5, _("community / village")
    GRID = 6, _("grid")


class GridType(models.TextChoices):
    """Grid kinds used across China's grid governance (住宅/商业/农村/专属)."""

    RESIDENTIAL = "residential", _("residential")
    COMMERCIAL = "commercial", _("commercial")
    RURAL = "rural", _("rural")
    DEDICATED = "dedicated", _("dedicated")


class LevelName(models.Model):
    """What a deployment calls each level (e.g. 镇 vs 街道 is per node; this is the default)."""

    level = models.PositiveSmallIntegerField(primary_key=True, choices=Level.choices)
    name_zh = models.CharField(max_length=40)
    name_en = models.CharField(max_length=60)

    class Meta:
        ordering = ["level"]

    def __str__(self) -> str:
        return f"{self.level} {self.name_zh}"


class Region(models.Model):
    """A node of the tree — 区划节点; at the bottom level a ``Grid`` (网格)."""

    # Used by the query-layer scoping: a model names the path that places its rows.
    scope_path_field = "path"

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=400, db_index=True, editable=False)
    geometry = models.JSONField(_("boundary (GeoJSON, WGS-84)"), null=True, blank=True)
    min_lon = models.FloatField(null=True, blank=True)
    min_lat = models.FloatField(null=True, blank=True)
    max_lon = models.FloatField(null=True, blank=True)
    max_lat = models.FloatField(null=True, blank=True)
    centroid_lon = models.FloatField(null=True, blank=True)
    centroid_lat = models.FloatField(null=True, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    source = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        indexes = [models.Index(fields=["parent", "code"], name="region_parent_code")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @staticmethod
    def path_for(parent_path: str | None, code: str) -> str:
        return f"{parent_path or ''}{code}."

    @property
    def is_grid(self) -> bool:
        return self.level == Level.GRID

    @property
    def ancestor_codes(self) -> list[str]:
        """Codes from the top of the tree down to the parent, read off the path."""
        return self.path.rstrip(".").split(".")[:-1]

    def ancestors(self) -> models.QuerySet[Region]:
        return Region.objects.filter(code__in=self.ancestor_codes).order_by("level")


class TreeRevision(models.Model):
    """A counter bumped whenever any boundary changes, so cached locate indexes rebuild."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    geometry_revision = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"geometry revision {self.geometry_revision}"
