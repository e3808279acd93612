"""Geometry helpers on GeoJSON dicts (WGS-84 lon/lat) with shapely 2."""

from __future__ import annotations

import json
import math

import numpy as np
import shapely
from shapely.geometry import mapping, shape

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180.0


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle (haversine) distance in metres between two WGS-84 points: duplicates
    near each other, a patrol's track length."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


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


LON_RANGE = (-180.0, 180.0)
LAT_RANGE = (-90.0, 90.0)


def square_metres_each(geoms) -> np.ndarray:
    """Approximate area in m² of each geometry in an array, each at its own mid-latitude.

    The vectorised form of ``square_metres`` for checks over thousands of grids at once.
    """
    geoms = np.asarray(geoms, dtype=object)
    if geoms.size == 0:
        return np.zeros(0)
    areas = shapely.area(geoms)
    # Mid-latitude of the bounds: unlike the centroid it is defined (NaN) for an empty
    # result, whose area is 0 anyway.
    bounds = shapely.bounds(geoms)
    lats = np.nan_to_num((bounds[:, 1] + bounds[:, 3]) / 2)
    return areas * METRES_PER_DEGREE**2 * np.cos(np.radians(lats))


def coordinates_outside_lonlat(geom: shapely.Geometry) -> np.ndarray:
    """The coordinate pairs of ``geom`` that cannot be WGS-84 lon/lat (or aren't finite).

    Projected metres (e.g. a CGCS2000 Gauss-Krüger export) land here instead of somewhere
    absurd on the map.
    """
    coords = shapely.get_coordinates(geom)
    lon, lat = coords[:, 0], coords[:, 1]
    bad = ~(np.isfinite(lon) & np.isfinite(lat)
            & (lon >= LON_RANGE[0]) & (lon <= LON_RANGE[1])
            & (lat >= LAT_RANGE[0]) & (lat <= LAT_RANGE[1]))
    return coords[bad]


def normalised_geojson(geom: shapely.Geometry) -> dict:
    """Plain-JSON GeoJSON (lists, floats, 2-D) of what was validated, as it will be stored.

    Storing shapely's output rather than the input means stored boundaries are exactly the
    checked ones (rings closed, stray members dropped), and re-importing the same file
    compares equal.
    """
    return json.loads(json.dumps(to_geojson(shapely.force_2d(geom))))
