"""Geometry helpers on GeoJSON dicts (WGS-84 lon/lat) with shapely 2."""

from __future__ import annotations

import math

import shapely
from shapely.geometry import mapping, shape

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180.0


def to_shape(geojson: dict) -> shapely.Geometry:
    return shape(geojson)


def to_geojson(geom: shapely.Geometry) -> dict:
    return mapping(geom)


def bbox_and_centroid(geojson: dict | None) -> dict[str, float | None]:
    """The denormalised bbox/centroid columns of a Region for a GeoJSON geometry."""
    if not geojson:
        return dict.fromkeys(
            ("min_lon", "min_lat", "max_lon", "max_lat", "centroid_lon", "centroid_lat"))
    geom = to_shape(geojson)
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    point = geom.representative_point() if not geom.centroid.within(geom) else geom.centroid
    return {"min_lon": min_lon, "min_lat": min_lat, "max_lon": max_lon, "max_lat": max_lat,
            "centroid_lon": point.x, "centroid_lat": point.y}


def square_metres(area_deg2: float, lat: float) -> float:
    """Approximate area in m² of a small lon/lat area at latitude ``lat``."""
    return area_deg2 * METRES_PER_DEGREE**2 * math.cos(math.radians(lat))
