"""Key places for the demo city — 演示场所: a realistic handful per street.

Each street gets schools, a clinic, a market, an elderly care home, a hazardous-chemicals
site (a petrol or gas station) and now and then a construction site, each at a random point
inside one of the street's grids. Deterministic for a seed; the demo generator calls
``seed_places`` after the region tree is written and ``remove_places`` before a reset.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q
from shapely.geometry import Point, shape

from wangge.regions.models import Level, Region

from .models import Place, PlaceKind

# (kind, how many per street, name patterns; {p} is a place word from the street or community)
PER_STREET: tuple[tuple[str, tuple[int, int], tuple[str, ...]], ...] = (
    (PlaceKind.SCHOOL, (1, 3), ("{p}小学", "{p}中学", "{p}实验学校", "{p}幼儿园")),
    (PlaceKind.HOSPITAL, (1, 1), ("{p}社区卫生服务中心", "{p}医院")),
    (PlaceKind.MARKET, (1, 2), ("{p}农贸市场", "{p}菜市场", "{p}商场")),
    (PlaceKind.ELDERLY_CARE, (1, 1), ("{p}养老院", "{p}日间照料中心", "{p}颐养中心")),
    (PlaceKind.HAZARDOUS_CHEMICALS, (0, 2), ("{p}加油站", "{p}液化气站", "{p}危化品仓库")),
    (PlaceKind.CONSTRUCTION_SITE, (0, 2), ("{p}安置房项目工地", "{p}道路改造工地",
                                           "{p}商业综合体工地")),
)
SUFFIXES = ("街道", "社区", "村委会", "村", "镇", "乡", "办事处")
BATCH_SIZE = 1000


def _place_word(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _point_in(geometry: dict, rng: random.Random) -> tuple[float, float]:
    """A random point inside a grid's polygon (a point on its surface if sampling misses)."""
    polygon = shape(geometry)
    x0, y0, x1, y1 = polygon.bounds
    for _ in range(50):
        p = Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
        if polygon.contains(p):
            return round(p.x, 6), round(p.y, 6)
    p = polygon.representative_point()
    return round(p.x, 6), round(p.y, 6)


def seed_places(seed: int, *, within: Iterable[str] = ()) -> int:
    """Write key places for every street under the nodes ``within`` (codes; empty: all
    streets) and return how many. Streets without grids that have a boundary get none."""
    streets = Region.objects.filter(level=Level.TOWNSHIP)
    codes = list(within)
    if codes:
        under = Q()
        for path in Region.objects.filter(code__in=codes).values_list("path", flat=True):
            under |= Q(path__startswith=path)
        streets = streets.filter(under)
    grids_by_street: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    street_paths = dict(streets.values_list("path", "name"))
    for path in street_paths:
        for pk, grid_path, name in (Region.objects.filter(
                level=Level.GRID, path__startswith=path, geometry__isnull=False)
                .order_by("code").values_list("pk", "path", "parent__name")):
            grids_by_street[path].append((pk, grid_path, name))
    plan: list[tuple[int, str, str, str, random.Random]] = []  # grid, path, kind, name, rng
    for street_path, grids in sorted(grids_by_street.items()):
        rng = random.Random(f"{seed}:{street_path}")  # noqa: S311 — a demo, not a secret
        for kind, (low, high), patterns in PER_STREET:
            for _ in range(rng.randint(low, high)):
                pk, grid_path, community = rng.choice(grids)
                word = _place_word(rng.choice([community, street_paths[street_path]]))
                plan.append((pk, grid_path, kind, rng.choice(patterns).format(p=word), rng))
    geometry = dict(Region.objects.filter(pk__in={p[0] for p in plan})
                    .values_list("pk", "geometry"))
    rows = []
    for pk, grid_path, kind, name, rng in plan:
        lon, lat = _point_in(geometry[pk], rng)
        rows.append(Place(kind=kind, name=name, lon=lon, lat=lat, region_id=pk,
                          region_path=grid_path, attributes={"demo": True}))
    Place.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    return len(rows)


def remove_places(region_source: str) -> int:
    """Delete the places lying in regions written by ``region_source`` (the demo's own)."""
    return Place.objects.filter(region__source=region_source).delete()[0]


# A real urban grid holds 300-600 households (户); the demo registry lists the members of only
# a few dozen per grid. The rest of each grid's household register is added as households
# without listed members, and one grid is made far larger than the norm, so the campaign and
# staffing pages show realistic sizes and a grid to split.
HOUSEHOLDS_PER_GRID = (220, 470)
OVERSIZED_GRID_HOUSEHOLDS = 1150


def seed_household_register(seed: int, *, within: str) -> int:
    """Fill the household register of the grids under ``within`` that already hold
    households; the first grid of the second such community becomes oversized."""
    from django.db.models import Count

    from .models import Household

    rng = random.Random(f"households-{seed}")  # noqa: S311 — a demo, not a secret
    held = dict(Household.objects.filter(region_path__startswith=within)
                .values_list("region_id").annotate(n=Count("id")))
    grids = list(Region.objects.filter(pk__in=held).order_by("code"))
    communities = sorted({g.parent_id for g in grids})
    oversized = next((g.pk for g in grids if len(communities) > 1
                      and g.parent_id == communities[1]), None)
    rows = []
    for grid in grids:
        total = OVERSIZED_GRID_HOUSEHOLDS if grid.pk == oversized else rng.randint(
            *HOUSEHOLDS_PER_GRID)
        rows += [Household(number=f"{grid.code}{n:04d}", region=grid, region_path=grid.path)
                 for n in range(1000, 1000 + max(total - held[grid.pk], 0))]
    Household.objects.bulk_create(rows, batch_size=2000)
    return len(rows)
