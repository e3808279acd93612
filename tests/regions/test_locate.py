"""locate(): the grid under a point, exact and deterministic, over the database's grids.

The ``tree`` fixture's grids are boxes: west community 117.00-117.02, east 117.02-117.04;
south grids 36.60-36.61, north 36.61-36.62; a lone grid 117.10-117.12 x 36.60-36.61.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from tests.factories import box
from wangge.regions import crs
from wangge.regions.locate import (
    NO_GRID,
    LocateIndex,
    LocateInputError,
    clear_cache,
    current_index,
    locate,
    locate_bulk,
)
from wangge.regions.models import Level, Region
from wangge.regions.services import create_region
from wangge.regions.tree import bump_geometry_revision

WS, WN = "370102001001001", "370102001001002"  # west community: south, north grid
ES, EN = "370102001002001", "370102001002002"  # east community
LONE = "370102002001001"
M_PER_DEG = 6_371_008.8 * math.pi / 180.0


@pytest.fixture(autouse=True)
def _fresh_index():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def near_200(settings):
    settings.LOCATE_NEAREST_METRES = 200.0


def brute_force(codes, polygons, x, y):
    """Smallest code whose closed polygon covers each point; every polygon, no index."""
    answer = np.full(len(x), None, dtype=object)
    for code, poly in sorted(zip(codes, polygons, strict=True), key=lambda cp: cp[0]):
        hit = shapely.intersects_xy(poly, x, y) & (answer == None)  # noqa: E711
        answer[hit] = code
    return answer


def answers(index, x, y):
    pos = index.locate(x, y)
    return np.where(pos == NO_GRID, None, index.codes[np.maximum(pos, 0)])


# -- the index alone (no database) ------------------------------------------------------


def test_index_matches_brute_force_on_overlapping_holed_and_multi_polygons():
    rng = np.random.default_rng(3)
    polygons = []
    for _ in range(60):
        x, y = rng.uniform(0, 10, 2)
        w, h = rng.uniform(0.2, 3, 2)
        polygons.append(shapely.box(x, y, x + w, y + h))
    for _ in range(40):
        c = rng.uniform(0, 10, 2)
        polygons.append(shapely.Point(*c).buffer(rng.uniform(0.2, 1.5), quad_segs=3))
    polygons.append(shapely.box(2, 2, 8, 8).difference(shapely.box(4, 4, 6, 6)))  # a hole
    polygons.append(shapely.MultiPolygon([shapely.box(0, 9, 1, 10), shapely.box(9, 0, 10, 1)]))
    codes = [f"{i:04d}" for i in rng.permutation(len(polygons))]
    index = LocateIndex.from_polygons(codes, polygons)

    x = rng.uniform(-1, 11, 60_000)
    y = rng.uniform(-1, 11, 60_000)
    # Points on boundaries: every vertex, and points along edges.
    coords = shapely.get_coordinates(shapely.boundary(np.array(polygons, dtype=object)))
    x = np.concatenate((x, coords[:, 0], (coords[:-1, 0] + coords[1:, 0]) / 2))
    y = np.concatenate((y, coords[:, 1], (coords[:-1, 1] + coords[1:, 1]) / 2))
    expected = brute_force(codes, polygons, x, y)
    got = answers(index, x, y)
    assert (got == expected).all()
    assert (expected == None).any() and (expected != None).any()  # noqa: E711


def test_shared_edge_and_vertex_go_to_the_smallest_code_whatever_the_order():
    # A 2x2 block whose smallest code is in the north-east, so "first in the list" or
    # "west/south first" would give a different answer.
    cells = {"d": shapely.box(0, 0, 1, 1), "c": shapely.box(1, 0, 2, 1),
             "b": shapely.box(0, 1, 1, 2), "a": shapely.box(1, 1, 2, 2)}
    for codes in (list(cells), sorted(cells)):
        index = LocateIndex.from_polygons(codes, [cells[c] for c in codes])
        got = answers(index, [1.0, 0.5, 1.0, 1.5, 1.0, 0.0, 0.5],
                      [1.0, 1.0, 0.5, 1.0, 1.5, 0.0, 0.5])
        assert got.tolist() == ["a", "b", "c", "a", "a", "d", "d"]


def test_index_outside_and_not_finite_points_are_unassigned():
    index = LocateIndex.from_polygons(["g"], [shapely.box(0, 0, 1, 1)])
    got = index.locate([2.0, -0.5, np.nan, np.inf, 0.5], [0.5, 0.5, 0.5, 0.5, np.nan])
    assert got.tolist() == [NO_GRID] * 5
    assert LocateIndex.from_polygons([], []).locate([0.5], [0.5]).tolist() == [NO_GRID]


def test_index_refuses_what_is_not_a_polygon():
    with pytest.raises(ValueError, match="grid g2: a boundary must be a non-empty"):
        LocateIndex.from_polygons(["g1", "g2"], [shapely.box(0, 0, 1, 1), shapely.Point(3, 3)])
    with pytest.raises(ValueError, match="unique"):
        LocateIndex.from_polygons(["g", "g"], [shapely.box(0, 0, 1, 1)] * 2)


def test_nearest_measures_metres_and_prefers_the_smaller_code_on_a_tie():
    lat = 36.6
    polygons = [shapely.box(117.0, lat, 117.01, lat + 0.01), shapely.box(117.02, lat, 117.03,
                                                                          lat + 0.01)]
    index = LocateIndex.from_polygons(["z", "y"], polygons)
    # 0.001° of longitude east of the first box, at latitude 36.605.
    pos, metres = index.nearest([117.011], [lat + 0.005], 500.0)
    assert index.codes[pos[0]] == "z"
    assert metres[0] == pytest.approx(0.001 * M_PER_DEG * math.cos(math.radians(lat + 0.005)),
                                      rel=1e-3)
    pos, _ = index.nearest([117.015], [lat + 0.005], 1000.0)
    assert pos[0] != NO_GRID
    # Exactly half way between two boxes (binary-exact coordinates): a tie, so the smaller code.
    twins = LocateIndex.from_polygons(["q", "p"],
                                      [shapely.box(0, 0, 1, 1), shapely.box(3, 0, 4, 1)])
    pos, metres = twins.nearest([2.0], [0.5], 200_000.0)
    assert twins.codes[pos[0]] == "p"
    assert metres[0] == pytest.approx(M_PER_DEG * math.cos(math.radians(0.5)))
    pos, metres = index.nearest([117.015], [lat + 0.005], 100.0)
    assert pos[0] == NO_GRID and metres[0] == math.inf


# -- over the database ---------------------------------------------------------------------


@pytest.mark.django_db
def test_point_in_a_grid_gives_the_grid_and_its_ancestors(tree):
    result = locate(117.01, 36.605)
    assert not result.unassigned
    assert (result.grid.code, result.grid.name) == (WS, "西社区第一网格")
    assert [(a.code, a.level) for a in result.grid.ancestors] == [
        ("37", Level.PROVINCE), ("3701", Level.CITY), ("370102", Level.COUNTY),
        ("370102001", Level.TOWNSHIP), ("370102001001", Level.COMMUNITY)]
    assert result.ancestors[0].name == "山东省"
    assert locate(117.11, 36.605).grid.code == LONE


@pytest.mark.django_db
def test_shared_edges_and_vertices_go_to_the_smallest_code(tree):
    cases = {
        (117.02, 36.605): WS,  # west/east edge, south: WS < ES
        (117.02, 36.615): WN,  # west/east edge, north
        (117.01, 36.61): WS,  # south/north edge, west
        (117.03, 36.61): ES,  # south/north edge, east: ES < EN
        (117.02, 36.61): WS,  # the vertex all four share
        (117.04, 36.62): EN,  # an outer corner belongs to its one grid
    }
    for (lon, lat), code in cases.items():
        for _ in range(2):  # deterministic: the same answer on every call
            assert locate(lon, lat).grid.code == code, (lon, lat)
    bulk = locate_bulk([p[0] for p in cases], [p[1] for p in cases])
    assert bulk.codes == list(cases.values())


@pytest.mark.django_db
def test_single_and_bulk_agree(tree, near_200):
    rng = np.random.default_rng(11)
    lons = np.concatenate((rng.uniform(116.99, 117.13, 300), [117.02, 117.0, 117.04, 117.1]))
    lats = np.concatenate((rng.uniform(36.595, 36.625, 300), [36.61, 36.6, 36.62, 36.605]))
    bulk = locate_bulk(lons, lats)
    assert 0 < bulk.assigned < len(lons)
    assert bulk.nearest  # some points are just outside
    for i, (lon, lat) in enumerate(zip(lons, lats, strict=True)):
        one = locate(lon, lat)
        assert (one.grid.code if one.grid else None) == bulk.codes[i]
        offered = bulk.nearest.get(i)
        assert (one.nearest.code if one.nearest else None) == (offered[0] if offered else None)
        if one.nearest:
            assert one.nearest.metres == pytest.approx(offered[1])
    assert set(bulk.grids) >= {c for c in bulk.codes if c}
    assert [a.code for a in bulk.grids[EN].ancestors][-1] == "370102001002"


@pytest.mark.django_db
def test_point_outside_is_unassigned_and_offered_the_nearest_grid_within_reach(tree, near_200):
    # 0.0015° east of the east grids' edge at 36.605: about 134 m.
    result = locate(117.0415, 36.605)
    assert result.unassigned and result.grid is None
    assert result.nearest.code == ES
    assert result.nearest.name == "东社区第一网格"
    expected = 0.0015 * M_PER_DEG * math.cos(math.radians(36.605))
    assert result.nearest.metres == pytest.approx(expected, abs=0.5)
    # About 890 m away: nothing is offered.
    far = locate(117.05, 36.605)
    assert far.unassigned and far.nearest is None


@pytest.mark.django_db
def test_nearest_distance_follows_the_setting(tree, settings):
    settings.LOCATE_NEAREST_METRES = 100.0
    assert locate(117.0415, 36.605).nearest is None
    settings.LOCATE_NEAREST_METRES = 1000.0
    assert locate(117.05, 36.605).nearest.code == ES


@pytest.mark.django_db
def test_gcj02_and_bd09_points_are_converted_before_locating(tree):
    # A phone in the west-south grid reports GCJ-02 (AMap) or BD-09 (Baidu) coordinates,
    # a few hundred metres off; taken as WGS-84 they would land in the east grids.
    glon, glat = crs.wgs84_to_gcj02(117.015, 36.605)
    blon, blat = crs.wgs84_to_bd09(117.015, 36.605)
    assert locate(glon, glat, "wgs84").grid.code == ES
    assert locate(blon, blat, "wgs84").grid.code == EN
    result = locate(glon, glat, crs="gcj02")
    assert result.grid.code == WS
    assert (result.lon, result.lat) == pytest.approx((117.015, 36.605), abs=1e-9)
    assert locate(blon, blat, crs="bd09").grid.code == WS
    assert locate_bulk([glon, blon], [glat, blat], "gcj02").codes[0] == WS


@pytest.mark.django_db
def test_unknown_crs_and_bad_points_are_refused_by_name(tree):
    with pytest.raises(ValueError, match="unknown coordinate system 'epsg:3857'"):
        locate(117.01, 36.605, crs="epsg:3857")
    with pytest.raises(LocateInputError, match="point 2"):
        locate_bulk([117.0, 117.01, float("nan")], [36.6, 36.605, 36.6])
    with pytest.raises(LocateInputError, match="point 1"):
        locate_bulk([117.0, 12_000_000.0], [36.6, 4_000_000.0])  # projected metres, not degrees


@pytest.mark.django_db
def test_index_is_cached_and_rebuilt_when_the_geometry_revision_changes(tree):
    assert locate(117.01, 36.605).grid.code == WS
    first = current_index()
    assert current_index() is first  # no rebuild while nothing changed
    # Move the west-south grid 0.1° north without telling anyone: the cache still answers.
    Region.objects.filter(code=WS).update(geometry=box(117.00, 36.70, 117.02, 36.71))
    assert locate(117.01, 36.605).grid.code == WS
    bump_geometry_revision()
    assert locate(117.01, 36.605).unassigned
    assert locate(117.01, 36.705).grid.code == WS
    assert current_index() is not first


@pytest.mark.django_db
def test_a_new_grid_is_found_at_once(tree):
    assert locate(117.11, 36.615).unassigned
    create_region(code="370102002001002", name="南社区第二网格", level=Level.GRID,
                  parent=tree["370102002001"], geometry=box(117.10, 36.61, 117.12, 36.62),
                  audit=False)
    assert locate(117.11, 36.615).grid.code == "370102002001002"
    assert locate(117.11, 36.61).grid.code == LONE  # the new shared edge: smaller code


@pytest.mark.django_db
def test_regions_above_grid_level_are_not_answers(tree):
    # The street and communities have polygons too; only grids are located.
    index = current_index()
    assert set(index.codes.tolist()) == {WS, WN, ES, EN, LONE}
