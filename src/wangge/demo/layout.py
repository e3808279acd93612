"""The demo city's geography — 演示城市布局: a pure function of (size, seed), no database.

济南市 (Jinan, code 3701) with its real districts (区/县) and streets/towns (街道/乡镇): their
codes and names come from the national division codes shipped in ``data/jinan.json``. Their
*boundaries* are synthetic — we have no real boundary data — and so are the communities (社区/村)
and grids (网格) below them, with invented names.

How the boundaries are drawn: the city outline is the convex hull of the districts' approximate
real centres, buffered; districts are the Voronoi cells of those centres inside it, so the map
looks roughly like Jinan (历下区 east of 市中区, 商河县 far north, 钢城区 south-east). Each
lower level is a Voronoi partition of its parent from random points (seeded per node), relaxed
twice towards the cells' centroids (Lloyd) so sizes are even. Every Voronoi cell is convex and
so is the outline; the intersection of convex polygons is convex, so every node at every level
is one convex Polygon (never a MultiPolygon) and the children of a node tile it: shared edges
come from the same Voronoi edge, and the only error is floating-point rounding where an edge
meets the parent's boundary — areas around 1e-20 deg², far below a square millimetre.

Randomness is drawn from a generator seeded by ``(seed, node code)``, so a node's subtree does
not depend on the order nodes are visited, and the same seed always gives the same city.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Polygon, box

DATA_FILE = Path(__file__).with_name("data") / "jinan.json"

# Levels as in wangge.regions.models.Level; repeated here so the layout needs no Django.
PROVINCE, CITY, COUNTY, TOWNSHIP, COMMUNITY, GRID = 1, 2, 3, 4, 5, 6

# The six central districts; the others are suburban districts and counties with villages.
URBAN_DISTRICTS = ("370102", "370103", "370104", "370105", "370112", "370176")


@dataclass(frozen=True)
class SizeSpec:
    """How big a city ``size`` makes: which districts, and how many children per node."""

    label: str
    districts: tuple[str, ...] | None  # None: all of them
    communities_per_street: tuple[int, int]  # inclusive range
    grids_per_community: tuple[int, int]


SIZES: dict[str, SizeSpec] = {
    # 历下区 alone: 13 streets x 3 communities x 4-6 grids, about 195 grids.
    "S": SizeSpec("about 200 grids", ("370102",), (3, 3), (4, 6)),
    # The six central districts: 83 streets x 6-8 communities x 4-6 grids, about 2,900 grids.
    "M": SizeSpec("about 3,000 grids", URBAN_DISTRICTS, (6, 8), (4, 6)),
    # All 13 districts and 164 streets: x 21-28 communities x 6-9 grids, about 30,000 grids.
    "L": SizeSpec("about 30,000 grids", None, (21, 28), (6, 9)),
}

LLOYD_ITERATIONS = 2
CITY_MARGIN_DEG = 0.12

URBAN_WORDS = (
    "和平", "幸福", "康乐", "安居", "阳光", "锦绣", "翠屏", "文化", "新华", "建设",
    "青年", "长青", "丽景", "龙泉", "金桥", "山水", "泉景", "明湖", "历山", "舜华",
    "千佛", "燕山", "花溪", "华庭", "东岳", "西关", "南门", "北关", "朝阳", "永安",
    "兴隆", "东方", "星光", "紫荆", "玉兰", "海棠", "丁香", "桂香", "荷花", "柳荫",
    "杨柳", "青松", "翠竹", "梧桐", "银杏", "百花", "春晖", "秋实", "晨曦", "彩虹",
    "祥和", "瑞景", "佳和", "福康", "盛世", "新城", "老城", "文昌", "文庙", "书香",
    "博文", "育英", "仁和", "德润", "润泽", "清源", "泉润", "舜耕", "舜玉", "鹊华",
    "华山", "卧牛", "凤凰", "麒麟", "龙湖", "玉泉", "洪楼", "七里", "八里", "十里",
    "兴福", "美里", "宝华", "振华", "利民",
)
URBAN_SUFFIXES = ("", "东", "西", "南", "北", "新", "里", "苑", "园", "路", "街")
# One-character surnames, common in Shandong; read as a sequence of characters.
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
    "彭曾田董袁潘于蒋蔡杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆范金石贾夏"
    "付方白邹孟秦邱江尹薛段雷侯史陶贺顾毛郝邵武孔牛房鲍商殷桑巩"
)
VILLAGE_PATTERNS = ("{}家庄", "{}家店", "{}庄", "东{}", "西{}", "前{}", "后{}", "大{}", "小{}",
                    "{}家洼", "{}家寨", "{}官屯", "{}家楼", "{}家峪")
DEDICATED_UNITS = ("school", "hospital", "industrial_park", "transport_hub", "market")
CN_DIGITS = "零一二三四五六七八九"


@dataclass(frozen=True)
class Area:
    """One node of the layout. ``polygon`` is WGS-84 lon/lat; None above the districts."""

    code: str
    name: str
    parent_code: str | None
    level: int
    polygon: Polygon | None
    attributes: dict = field(default_factory=dict)


@dataclass
class CityLayout:
    size: str
    seed: int
    province: Area
    city: Area
    districts: list[Area]
    streets: list[Area]
    communities: list[Area]
    grids: list[Area]
    outline: Polygon  # the synthetic city outline all districts of the city tile

    def levels(self) -> Iterator[tuple[int, list[Area]]]:
        """Top-down, each level after its parents: the order rows must be written in."""
        yield PROVINCE, [self.province]
        yield CITY, [self.city]
        yield COUNTY, self.districts
        yield TOWNSHIP, self.streets
        yield COMMUNITY, self.communities
        yield GRID, self.grids

    def counts(self) -> dict[str, int]:
        return {"districts": len(self.districts), "streets": len(self.streets),
                "communities": len(self.communities), "grids": len(self.grids)}


@cache
def load_divisions() -> dict:
    """The shipped Jinan rows (province, city, 13 districts, 164 streets)."""
    with DATA_FILE.open(encoding="utf-8") as f:
        return json.load(f)


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 35 → 三十五 (1 ≤ n ≤ 99)."""
    if not 1 <= n <= 99:
        raise ValueError(f"grid ordinal out of range: {n}")
    tens, ones = divmod(n, 10)
    if tens == 0:
        return CN_DIGITS[ones]
    head = "" if tens == 1 else CN_DIGITS[tens]
    return head + "十" + (CN_DIGITS[ones] if ones else "")


def _rng(seed: int, code: str) -> np.random.Generator:
    return np.random.default_rng([seed, int(code)])


def _single_polygon(geom: shapely.Geometry, where: str) -> Polygon:
    """The one polygon of a clipped cell; rounding can leave a dust-sized extra piece."""
    if isinstance(geom, Polygon) and not geom.is_empty:
        return geom
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]
    if not parts:
        raise ValueError(f"{where}: a Voronoi cell vanished when clipped to its parent")
    parts.sort(key=lambda p: p.area, reverse=True)
    rest = sum(p.area for p in parts[1:])
    if rest > 1e-12 * parts[0].area:
        raise ValueError(f"{where}: a cell split into pieces of real size ({rest:.3g} deg²)")
    return parts[0]


def _random_points(parent: Polygon, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform points strictly inside ``parent`` (rejection sampling on its bbox)."""
    min_x, min_y, max_x, max_y = parent.bounds
    shapely.prepare(parent)
    found: list[np.ndarray] = []
    have = 0
    while have < n:
        xy = rng.uniform((min_x, min_y), (max_x, max_y), size=(2 * n + 8, 2))
        xy = xy[shapely.contains_xy(parent, xy[:, 0], xy[:, 1])]
        found.append(xy)
        have += len(xy)
    return np.concatenate(found)[:n]


def _voronoi_cells(parent: Polygon, points: np.ndarray, where: str) -> list[Polygon]:
    """The Voronoi cells of ``points`` clipped to ``parent``, in the order of ``points``."""
    diagram = shapely.voronoi_polygons(MultiPoint(points), extend_to=parent.envelope,
                                       ordered=True)
    cells = shapely.get_parts(diagram)
    if len(cells) != len(points):
        raise ValueError(f"{where}: {len(points)} points gave {len(cells)} Voronoi cells")
    clipped = shapely.intersection(cells, parent)
    return [_single_polygon(c, where) for c in clipped]


def partition(parent: Polygon, points: np.ndarray, *, relax: int, where: str) -> list[Polygon]:
    """Split ``parent`` into one convex cell per point, after ``relax`` Lloyd steps.

    The cells come back in reading order — north to south in rows, west to east within a
    row — so that the ordinals given to them (001, 002…, 第一网格…) run across the map.
    """
    cells = _voronoi_cells(parent, points, where)
    for _ in range(relax):
        centres = shapely.get_coordinates(shapely.centroid(np.array(cells, dtype=object)))
        cells = _voronoi_cells(parent, centres, where)
    centres = shapely.get_coordinates(shapely.centroid(np.array(cells, dtype=object)))
    row_height = math.sqrt(parent.area / len(cells))
    top = parent.bounds[3]
    order = sorted(range(len(cells)),
                   key=lambda i: (int((top - centres[i][1]) / row_height), centres[i][0]))
    return [cells[i] for i in order]


def city_outline(divisions: dict) -> Polygon:
    """A convex stand-in for Jinan's outline: the district centres' hull, buffered, in extent."""
    centres = MultiPoint([d["centre"] for d in divisions["districts"]])
    hull = centres.convex_hull.buffer(CITY_MARGIN_DEG, quad_segs=4)
    outline = hull.intersection(box(*divisions["city"]["extent"]))
    return _single_polygon(outline, "city outline")


def _street_kind(street: dict) -> str:
    if street["name"].endswith("镇"):
        return "town"  # 镇
    if street["code"][6] == "4":
        return "zone"  # 开发区、园区等 (codes 4xx)
    return "subdistrict"  # 街道


def _community_names(kinds: list[str], rng: np.random.Generator) -> list[str]:
    """Distinct plausible names: urban "<word>社区", villages "<surname pattern>村"."""
    urban = rng.permutation(len(URBAN_WORDS) * len(URBAN_SUFFIXES))
    rural = rng.permutation(len(SURNAMES) * len(VILLAGE_PATTERNS))
    names, u, r = [], 0, 0
    for kind in kinds:
        if kind == "village":
            word, pattern = divmod(int(rural[r]), len(VILLAGE_PATTERNS))
            names.append(VILLAGE_PATTERNS[pattern].format(SURNAMES[word]) + "村")
            r += 1
        else:
            word, suffix = divmod(int(urban[u]), len(URBAN_SUFFIXES))
            names.append(URBAN_WORDS[word] + URBAN_SUFFIXES[suffix] + "社区")
            u += 1
    return names


def _village_share(street: Area, district_code: str) -> float:
    kind = street.attributes["kind"]
    if kind == "town":
        return 0.9
    if kind == "zone":
        return 0.2
    return 0.0 if district_code in URBAN_DISTRICTS else 0.5


def _grid_attributes(community: Area, zone: bool, rng: np.random.Generator) -> dict:
    attrs: dict = {"households": int(rng.integers(300, 501))}
    if community.attributes["kind"] == "village":
        attrs["grid_type"] = "rural"
        return attrs
    # Development zones (开发区) are mostly firms; elsewhere most grids are residential.
    weights = (0.2, 0.5, 0.3) if zone else (0.78, 0.15, 0.07)
    grid_type = ("residential", "commercial", "dedicated")[int(rng.choice(3, p=weights))]
    attrs["grid_type"] = grid_type
    if grid_type == "dedicated":
        # 专属网格: a school, hospital, industrial park… with its own grid worker.
        attrs["unit"] = DEDICATED_UNITS[int(rng.integers(len(DEDICATED_UNITS)))]
    return attrs


def build_layout(size: str, seed: int, *, districts: Iterable[str] | None = None) -> CityLayout:
    """The demo city of ``size`` (S, M or L) for ``seed`` (a non-negative integer).

    ``districts`` (codes) replaces the size's choice of districts, keeping its numbers of
    communities and grids per node: e.g. a small city on rural 平阴县 instead of 历下区.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    if seed < 0:
        raise ValueError(f"the seed must be a non-negative integer, not {seed}")
    spec = SIZES[size]
    data = load_divisions()
    province = Area(data["province"]["code"], data["province"]["name"], None, PROVINCE, None)
    city = Area(data["city"]["code"], data["city"]["name"], province.code, CITY, None)
    outline = city_outline(data)

    # Districts are always cut from the whole outline so their shapes do not depend on size.
    all_districts = data["districts"]
    cells = _voronoi_cells(outline, np.array([d["centre"] for d in all_districts]), "districts")
    known = {d["code"] for d in all_districts}
    wanted = set(districts if districts is not None else spec.districts or known)
    if unknown := sorted(wanted - known):
        raise ValueError(f"not a district of {data['city']['name']}: {', '.join(unknown)}")
    if not wanted:
        raise ValueError("no district chosen")
    districts = [
        Area(d["code"], d["name"], city.code, COUNTY, cell,
             {"kind": "county" if d["name"].endswith("县") else "district",
              "boundary": "synthetic"})
        for d, cell in zip(all_districts, cells, strict=True) if d["code"] in wanted
    ]

    streets_of: dict[str, list[dict]] = {}
    for s in data["streets"]:
        streets_of.setdefault(s["parent"], []).append(s)

    streets: list[Area] = []
    communities: list[Area] = []
    grids: list[Area] = []
    for district in districts:
        rows = sorted(streets_of[district.code], key=lambda s: s["code"])
        rng = _rng(seed, district.code)
        cells = partition(district.polygon, _random_points(district.polygon, len(rows), rng),
                          relax=LLOYD_ITERATIONS, where=district.code)
        district_streets = [
            Area(s["code"], s["name"], district.code, TOWNSHIP, cell,
                 {"kind": _street_kind(s), "boundary": "synthetic"})
            for s, cell in zip(rows, cells, strict=True)
        ]
        streets.extend(district_streets)
        for street in district_streets:
            made = _communities(street, district.code, spec, seed)
            communities.extend(made)
            zone = street.attributes["kind"] == "zone"
            for community in made:
                grids.extend(_grids(community, zone, spec, seed))
    return CityLayout(size, seed, province, city, districts, streets, communities, grids,
                      outline)


def _communities(street: Area, district_code: str, spec: SizeSpec, seed: int) -> list[Area]:
    rng = _rng(seed, street.code)
    low, high = spec.communities_per_street
    n = int(rng.integers(low, high + 1))
    cells = partition(street.polygon, _random_points(street.polygon, n, rng),
                      relax=LLOYD_ITERATIONS, where=street.code)
    share = _village_share(street, district_code)
    kinds = ["village" if rng.random() < share else "community" for _ in range(n)]
    names = _community_names(kinds, rng)
    return [
        Area(f"{street.code}{i:03d}", name, street.code, COMMUNITY, cell, {"kind": kind})
        for i, (cell, kind, name) in enumerate(zip(cells, kinds, names, strict=True), start=1)
    ]


def _grids(community: Area, zone: bool, spec: SizeSpec, seed: int) -> list[Area]:
    rng = _rng(seed, community.code)
    low, high = spec.grids_per_community
    n = int(rng.integers(low, high + 1))
    cells = partition(community.polygon, _random_points(community.polygon, n, rng),
                      relax=LLOYD_ITERATIONS, where=community.code)
    return [
        Area(f"{community.code}{i:03d}", f"{community.name}第{chinese_number(i)}网格",
             community.code, GRID, cell, _grid_attributes(community, zone, rng))
        for i, cell in enumerate(cells, start=1)
    ]
