"""Bulk imports into the region tree: division codes (CSV) and communities/grids (GeoJSON).

Both validate everything first and write all or nothing; both return an ``ImportReport``.
"""

from __future__ import annotations

from .common import ImportReport, Problem
from .divisions import import_divisions
from .geojson import import_geojson

__all__ = ["ImportReport", "Problem", "import_divisions", "import_geojson"]
