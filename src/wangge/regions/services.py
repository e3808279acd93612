"""Region services: the only code that writes the tree (imports live in ``importers``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from wangge.audit.services import record

from .geometry import bbox_and_centroid
from .models import Level, Region
from .tree import bump_geometry_revision


@transaction.atomic
def create_region(
    *,
    code: str,
    name: str,
    level: int,
    parent: Region | None = None,
    geometry: dict | None = None,
    attributes: dict | None = None,
    source: str = "manual",
    audit: bool = True,
) -> Region:
    """Add one node under ``parent``; its code must extend the parent's code."""
    if parent is not None and not code.startswith(parent.code):
        raise ValidationError({"code": f"code {code} is not under its parent's code {parent.code}"})
    if parent is not None and level <= parent.level:
        raise ValidationError({"level": f"level {level} is not below its parent's {parent.level}"})
    if level not in Level.values:
        raise ValidationError({"level": f"unknown level {level}"})
    region = Region.objects.create(
        code=code, name=name, level=level, parent=parent,
        path=Region.path_for(parent.path if parent else None, code),
        geometry=geometry, attributes=attributes or {}, source=source,
        **bbox_and_centroid(geometry),
    )
    if geometry:
        bump_geometry_revision()
    if audit:
        record("regions.create", region, detail={"code": code, "level": level})
    return region
