"""The demo city's geometry, without a database: sizes, names, tiling, determinism."""

from __future__ import annotations

import itertools
import re
from collections import defaultdict

import pytest
import shapely
from shapely.geometry import Polygon, box

from wangge.demo.layout import SIZES, Area, build_layout, chinese_number, load_divisions
from wangge.regions.geometry import square_metres
from wangge.regions.models import GridType

SEED = 20240601


@pytest.fixture(scope="module")
def small():
    return build_layout("S", SEED)


def _children(layout) -> dict[str, list[Area]]:
    kids: dict[str, list[Area]] = defaultdict(list)
    for area in [*layout.streets, *layout.communities, *layout.grids]:
        kids[area.parent_code].append(area)
    return kids


def test_small_city_is_lixia_with_about_200_grids(small):
    assert [d.name for d in small.districts] == ["历下区"]
    assert len(small.streets) == 13
    assert {s.name for s in small.streets} >= {"解放路街道", "千佛山街道", "智远街道"}
    assert len(small.communities) == 39
    assert 180 <= len(small.grids) <= 240


def test_codes_and_names_follow_the_tree(small):
    streets = {s.code for s in small.streets}
    communities = {c.code: c for c in small.communities}
    for community in small.communities:
        assert re.fullmatch(r"\d{12}", community.code)
        assert community.parent_code in streets and community.code.startswith(community.parent_code)
        assert community.name.endswith(("社区", "村"))
    for grid in small.grids:
        assert re.fullmatch(r"\d{15}", grid.code)
        parent = communities[grid.parent_code]
        ordinal = chinese_number(int(grid.code[-3:]))
        assert grid.name == f"{parent.name}第{ordinal}网格"
    # Codes are unique, and names are unique among siblings.
    everything = [*small.streets, *small.communities, *small.grids]
    assert len({a.code for a in everything}) == len(everything)
    for kids in _children(small).values():
        assert len({k.name for k in kids}) == len(kids)


def test_grid_attributes_are_plausible(small):
    types = {g.attributes["grid_type"] for g in small.grids}
    assert types <= set(GridType.values)
    assert "residential" in types
    assert all(300 <= g.attributes["households"] <= 500 for g in small.grids)
    residential = sum(g.attributes["grid_type"] == "residential" for g in small.grids)
    assert residential > len(small.grids) / 2
    assert all(g.attributes["unit"] for g in small.grids if g.attributes["grid_type"] ==
               "dedicated")


def test_every_node_below_the_city_is_one_valid_polygon_in_jinan(small):
    jinan = box(*load_divisions()["city"]["extent"])
    for area in [*small.districts, *small.streets, *small.communities, *small.grids]:
        assert isinstance(area.polygon, Polygon), area.code
        assert area.polygon.is_valid and not area.polygon.is_empty, area.code
        assert jinan.contains(area.polygon), area.code


def _assert_tiles(parent: Polygon, kids: list[Polygon], what: str) -> None:
    area = parent.area
    assert abs(sum(k.area for k in kids) - area) <= 1e-9 * area, what
    for a, b in itertools.combinations(kids, 2):
        assert a.intersection(b).area <= 1e-12 * area, what
    union = shapely.union_all(kids)
    assert parent.difference(union).area <= 1e-9 * area, what
    assert union.difference(parent).area <= 1e-9 * area, what


def test_children_tile_their_parent_without_gaps_or_overlaps(small):
    polygons = {a.code: a.polygon for a in [*small.districts, *small.streets,
                                            *small.communities]}
    kids = _children(small)
    assert set(kids) == set(polygons)  # every node down to the communities has children
    for code, children in kids.items():
        _assert_tiles(polygons[code], [k.polygon for k in children], code)


def test_the_leftover_between_grids_is_far_below_a_square_metre(small):
    for community in small.communities:
        grids = [g.polygon for g in small.grids if g.parent_code == community.code]
        gap = community.polygon.symmetric_difference(shapely.union_all(grids)).area
        assert square_metres(gap, community.polygon.centroid.y) < 1e-3, community.code


def test_districts_tile_the_city_outline():
    layout = build_layout("S", SEED, districts=[f"3701{c}" for c in (
        "02", "03", "04", "05", "12", "13", "14", "15", "16", "17", "24", "26", "76")])
    assert len(layout.districts) == 13
    _assert_tiles(layout.outline, [d.polygon for d in layout.districts], "city")
    # 商河县 is the northernmost district of Jinan, 钢城区 lies south-east of 历下区.
    north = max(layout.districts, key=lambda d: d.polygon.centroid.y)
    assert north.name == "商河县"
    lixia = next(d for d in layout.districts if d.code == "370102").polygon.centroid
    gangcheng = next(d for d in layout.districts if d.code == "370117").polygon.centroid
    assert gangcheng.x > lixia.x and gangcheng.y < lixia.y


def test_same_seed_gives_the_same_city():
    first, second = build_layout("S", 7), build_layout("S", 7)
    assert first is not second
    for a, b in zip([*first.streets, *first.communities, *first.grids],
                    [*second.streets, *second.communities, *second.grids], strict=True):
        assert (a.code, a.name, a.parent_code, a.attributes) == (
            b.code, b.name, b.parent_code, b.attributes)
        assert a.polygon.wkb == b.polygon.wkb


def test_another_seed_gives_other_boundaries_on_the_same_real_streets():
    one, two = build_layout("S", 7), build_layout("S", 8)
    assert [s.code for s in one.streets] == [s.code for s in two.streets]
    assert [s.name for s in one.streets] == [s.name for s in two.streets]
    # The districts stay where Jinan has them; everything below is redrawn.
    assert one.districts[0].polygon.wkb == two.districts[0].polygon.wkb
    assert all(a.polygon.wkb != b.polygon.wkb for a, b in zip(one.streets, two.streets,
                                                              strict=True))
    shared = {g.code for g in one.grids} & {g.code for g in two.grids}
    wkb_one = {g.code: g.polygon.wkb for g in one.grids}
    wkb_two = {g.code: g.polygon.wkb for g in two.grids}
    assert all(wkb_one[c] != wkb_two[c] for c in shared)


def test_towns_get_villages_and_rural_grids_while_central_streets_do_not():
    layout = build_layout("S", SEED, districts=["370124", "370102"])  # 平阴县 and 历下区
    streets = {s.code: s for s in layout.streets}
    communities = {c.code: c for c in layout.communities}
    town_communities = [c for c in layout.communities if streets[c.parent_code].name.endswith("镇")]
    assert town_communities
    villages = [c for c in town_communities if c.attributes["kind"] == "village"]
    assert len(villages) > len(town_communities) / 2
    assert all(c.name.endswith("村") for c in villages)
    for grid in layout.grids:
        community = communities[grid.parent_code]
        is_village = community.attributes["kind"] == "village"
        assert (grid.attributes["grid_type"] == "rural") == is_village, grid.code
        if grid.code.startswith("370102"):
            assert not is_village


def test_medium_city_is_the_six_central_districts_with_about_3000_grids():
    layout = build_layout("M", 1)
    assert {d.name for d in layout.districts} == {
        "历下区", "市中区", "槐荫区", "天桥区", "历城区", "济南高新技术产业开发区"}
    assert len(layout.streets) == 83
    assert 2500 <= len(layout.grids) <= 3500
    assert all(isinstance(g.polygon, Polygon) and g.polygon.is_valid for g in layout.grids)


def test_bad_arguments_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="unknown size 'XL'"):
        build_layout("XL", 1)
    with pytest.raises(ValueError, match="non-negative"):
        build_layout("S", -1)
    with pytest.raises(ValueError, match="not a district of 济南市: 110101"):
        build_layout("S", 1, districts=["110101"])
    assert set(SIZES) == {"S", "M", "L"}


@pytest.mark.parametrize(("n", "text"), [(1, "一"), (9, "九"), (10, "十"), (12, "十二"),
                                         (20, "二十"), (35, "三十五"), (99, "九十九")])
def test_grid_ordinals_in_chinese(n, text):
    assert chinese_number(n) == text


def test_grid_ordinals_out_of_range():
    with pytest.raises(ValueError):
        chinese_number(0)
    with pytest.raises(ValueError):
        chinese_number(100)
