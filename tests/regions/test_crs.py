"""Coordinate conversion against published values, and round trips.

Sources of the published vectors (each quoted as printed there):
- [EVIL] googollee/eviltransform, python/test.py (also go/transform_test.go): WGS-84 → GCJ-02
  pairs for Shanghai, Shenzhen and Beijing, given as (wgsLat, wgsLng, gcjLat, gcjLng).
- [CT] wandergis/coordtransform, README.md "示例用法": the four conversions of (116.404, 39.915),
  given as [lng, lat]. Its gcj02towgs84 and bd09togcj02 are the common one-step
  approximations, so our exact inverses are compared to them with a tolerance that says so.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from wangge.regions import crs

M_PER_DEG = 111_195.0  # one degree of latitude, near enough for stating tolerances

# (wgs lon, wgs lat, gcj lon, gcj lat)
EVIL = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # [EVIL] shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # [EVIL] shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # [EVIL] beijing
    (116.404, 39.915, 116.41024449916938, 39.91640428150164),  # [CT] wgs84togcj02
]


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), EVIL)
def test_wgs84_to_gcj02_matches_published_values(wlon, wlat, glon, glat):
    # The published values come from the same closed-form offset in double precision:
    # agreement to 1e-9° (0.1 mm) is expected; the libraries themselves test to 1e-6°.
    lon, lat = crs.wgs84_to_gcj02(wlon, wlat)
    assert lon == pytest.approx(glon, abs=1e-9)
    assert lat == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), EVIL)
def test_gcj02_to_wgs84_recovers_the_published_wgs84_point(wlon, wlat, glon, glat):
    # eviltransform's own exact inverse is tested to 0.5 m; the iterated inverse here must
    # land within 1e-8° (about 1 mm) of the original point.
    lon, lat = crs.to_wgs84(glon, glat, "gcj02")
    assert lon == pytest.approx(wlon, abs=1e-8)
    assert lat == pytest.approx(wlat, abs=1e-8)


def test_exact_inverse_beats_the_published_one_step_inverse():
    # [CT] gcj02towgs84(116.404, 39.915) → [116.39775550083061, 39.91359571849836], the
    # one-step approximation. Ours is the exact inverse: close to it (within ~1 m), and the
    # forward transform of ours gives back the input, which theirs does not.
    one_step = (116.39775550083061, 39.91359571849836)
    lon, lat = crs.to_wgs84(116.404, 39.915, "gcj02")
    assert math.dist((lon, lat), one_step) < 1e-5
    ours_back = crs.wgs84_to_gcj02(lon, lat)
    theirs_back = crs.wgs84_to_gcj02(*one_step)
    assert math.dist(ours_back, (116.404, 39.915)) < 1e-9
    assert math.dist(theirs_back, (116.404, 39.915)) > 1e-7


def test_gcj02_to_bd09_matches_published_value():
    # [CT] gcj02tobd09(116.404, 39.915) → [116.41036949371029, 39.92133699351021]
    lon, lat = crs.gcj02_to_bd09(116.404, 39.915)
    assert lon == pytest.approx(116.41036949371029, abs=1e-9)
    assert lat == pytest.approx(39.92133699351021, abs=1e-9)


def test_bd09_inverse_is_near_the_published_closed_form_and_exact():
    # [CT] bd09togcj02(116.404, 39.915) → [116.39762729119315, 39.90865673957631], the
    # closed-form reversal (a few centimetres off). Ours must be within 1e-6° (0.1 m) of it
    # and reproduce the input through gcj02_to_bd09 to 1e-9°.
    bd = (116.404, 39.915)
    glon, glat = crs.gcj02_to_bd09(*crs.wgs84_to_gcj02(*crs.to_wgs84(*bd, "bd09")))
    assert math.dist((glon, glat), bd) < 1e-9
    wlon, wlat = crs.to_wgs84(*bd, "bd09")
    gcj = crs.wgs84_to_gcj02(wlon, wlat)
    assert math.dist(gcj, (116.39762729119315, 39.90865673957631)) < 1e-6


def test_outside_china_gcj02_is_wgs84():
    for lon, lat in [(-0.1278, 51.5074), (139.6917, 35.6895), (151.2093, -33.8688)]:
        assert crs.wgs84_to_gcj02(lon, lat) == (lon, lat)
        assert crs.to_wgs84(lon, lat, "gcj02") == (lon, lat)


def test_offset_inside_china_is_hundreds_of_metres():
    # Jinan: without the conversion a GCJ-02 point is several hundred metres off.
    lon, lat = crs.wgs84_to_gcj02(117.0, 36.65)
    metres = math.hypot((lon - 117.0) * math.cos(math.radians(36.65)), lat - 36.65) * M_PER_DEG
    assert 200 < metres < 1000


def test_round_trips_over_china_are_exact_to_a_tenth_of_a_millimetre():
    rng = np.random.default_rng(7)
    lon = rng.uniform(74.0, 134.0, 20_000)
    lat = rng.uniform(18.0, 53.0, 20_000)
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    back_lon, back_lat = crs.to_wgs84(glon, glat, "gcj02")
    assert np.max(np.abs(back_lon - lon)) < 1e-9
    assert np.max(np.abs(back_lat - lat)) < 1e-9
    blon, blat = crs.wgs84_to_bd09(lon, lat)
    back_lon, back_lat = crs.to_wgs84(blon, blat, "bd09")
    assert np.max(np.abs(back_lon - lon)) < 1e-9
    assert np.max(np.abs(back_lat - lat)) < 1e-9
    assert crs.bd09_to_wgs84(blon[:3], blat[:3])[0] == pytest.approx(lon[:3], abs=1e-9)


def test_vectorised_shapes_and_scalars():
    lon, lat = crs.to_wgs84(np.array([[117.0, 117.1]]), np.array([[36.6, 36.7]]), "gcj02")
    assert lon.shape == lat.shape == (1, 2)
    one = crs.to_wgs84(117.0, 36.6, "gcj02")
    assert isinstance(one[0], float) and isinstance(one[1], float)
    assert (lon[0, 0], lat[0, 0]) == pytest.approx(one)


def test_wgs84_and_cgcs2000_pass_through_and_names_are_case_insensitive():
    assert crs.to_wgs84(117.0, 36.6, "wgs84") == (117.0, 36.6)
    assert crs.to_wgs84(117.0, 36.6, "CGCS2000") == (117.0, 36.6)
    assert crs.to_wgs84(117.0, 36.6, "GCJ-02") == crs.to_wgs84(117.0, 36.6, "gcj02")


@pytest.mark.parametrize("name", ["epsg:4326", "bd-10", "", "mars"])
def test_unknown_crs_is_refused_by_name(name):
    with pytest.raises(ValueError, match=re.escape(f"unknown coordinate system {name!r}")):
        crs.to_wgs84(117.0, 36.6, name)
