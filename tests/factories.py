"""Small, explicit test trees and accounts. Coordinates are WGS-84 lon/lat."""

from __future__ import annotations

from dataclasses import dataclass, field

from wangge.accounts.models import Department, User
from wangge.accounts.roles import Role
from wangge.regions.models import Level, Region
from wangge.regions.services import create_region

PASSWORD = "correct-horse-battery-9"


def box(x0: float, y0: float, x1: float, y1: float) -> dict:
    return {"type": "Polygon",
            "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


@dataclass
class Tree:
    """37 > 3701 > 370102 > street 370102001 > communities 001/002 > two grids each.

    The street is the box (117.00, 36.60)-(117.04, 36.62); community 001 is its west half,
    002 its east half; each community is split into a south grid (…001) and a north grid (…002).
    A second street 370102002 (no polygon) has one community with one grid, for scope tests.
    """

    nodes: dict[str, Region] = field(default_factory=dict)

    def __getitem__(self, code: str) -> Region:
        return self.nodes[code]


def build_tree() -> Tree:
    t = Tree()

    def add(code, name, level, parent, geometry=None, **attrs):
        node = create_region(code=code, name=name, level=level,
                             parent=t.nodes.get(parent) if parent else None,
                             geometry=geometry, attributes=attrs, audit=False)
        t.nodes[code] = node
        return node

    add("37", "山东省", Level.PROVINCE, None)
    add("3701", "济南市", Level.CITY, "37")
    add("370102", "历下区", Level.COUNTY, "3701")
    add("370102001", "解放路街道", Level.TOWNSHIP, "370102", box(117.00, 36.60, 117.04, 36.62))
    add("370102001001", "西社区", Level.COMMUNITY, "370102001", box(117.00, 36.60, 117.02, 36.62))
    add("370102001002", "东社区", Level.COMMUNITY, "370102001", box(117.02, 36.60, 117.04, 36.62))
    add("370102001001001", "西社区第一网格", Level.GRID, "370102001001",
        box(117.00, 36.60, 117.02, 36.61), households=420, grid_type="residential")
    add("370102001001002", "西社区第二网格", Level.GRID, "370102001001",
        box(117.00, 36.61, 117.02, 36.62), households=380, grid_type="residential")
    add("370102001002001", "东社区第一网格", Level.GRID, "370102001002",
        box(117.02, 36.60, 117.04, 36.61), households=350, grid_type="commercial")
    add("370102001002002", "东社区第二网格", Level.GRID, "370102001002",
        box(117.02, 36.61, 117.04, 36.62), households=300, grid_type="residential")
    add("370102002", "千佛山街道", Level.TOWNSHIP, "370102")
    add("370102002001", "南社区", Level.COMMUNITY, "370102002")
    add("370102002001001", "南社区第一网格", Level.GRID, "370102002001",
        box(117.10, 36.60, 117.12, 36.61), households=410, grid_type="residential")
    return t


def make_user(username: str, role: str = Role.STAFF, region: Region | None = None,
              department: Department | None = None, password: str = PASSWORD) -> User:
    user = User(username=username, role=role, region=region, department=department,
                display_name=username)
    user.set_password(password)
    user.save()
    return user


def feature(code: str, parent: str, level: int | str, geometry: dict | None,
            name: str | None = None, **attributes) -> dict:
    """One GeoJSON feature as the region importer reads it."""
    props = {"code": code, "name": name or f"网格{code[-3:]}", "parent_code": parent,
             "level": level}
    if attributes:
        props["attributes"] = attributes
    return {"type": "Feature", "properties": props, "geometry": geometry}


def collection(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}
