"""Placement — 落格: which grid a department's row belongs to.

A row of a department's list becomes visible to exactly the accounts whose subtree holds its
grid, and a list sent down to grids (数据下沉) reaches the grid worker through it. The rules,
in order — the first one the row gives an answer to decides:

1. a grid code (``grid_code``) → that grid, which must exist and lie in the importer's area;
2. a point (``lon``/``lat``, WGS-84) → the grid the point lies in (``regions.locate``,
   vectorised over many rows at once), inside the importer's area;
3. an address beginning with the address of a known building (``Building.address``, longest
   first) → that building's grid;
4. otherwise no grid: fine for a department's own register, an error for a dataset that
   flows down (``grid_required``), since a list sent to grids needs one.

"The importer's area" is the subtree of the steward's node, read through ``visible_to`` like
every other fetch. Problems name the field at fault and never echo the row's values (a
point or an address describes where a person lives).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _

from wangge.accounts.scope import visible_to
from wangge.privacy.addresses import normalise_address
from wangge.regions.locate import locate_bulk
from wangge.regions.models import Level, Region

from .models import Building


@dataclass(frozen=True)
class Spot:
    """What a row says about where it is: clean values of the standard fields (or "")."""

    grid_code: str = ""
    lon: str = ""
    lat: str = ""
    address: str = ""


@dataclass(frozen=True)
class Placed:
    """The grid found (``region_id`` None: no grid, allowed for this dataset)."""

    region_id: int | None
    region_path: str
    rule: str  # grid_code | point | building | none


@dataclass(frozen=True)
class Misplaced:
    """Why the row cannot be placed; ``field`` is the standard field at fault."""

    field: str
    message: str


NOWHERE = Placed(None, "", "none")


class Placer:
    """Places the rows of one import for ``user`` (see the module docstring)."""

    def __init__(self, user, *, grid_required: bool) -> None:
        self.user = user
        self.grid_required = grid_required
        grids = visible_to(Region, user).filter(level=Level.GRID)
        self.grids: dict[str, tuple[int, str]] = {
            code: (pk, path) for pk, code, path in grids.values_list("id", "code", "path")}
        self._known_elsewhere: dict[str, bool] = {}
        self._buildings: dict[str, tuple[int, str]] | None = None
        self._lengths: list[int] = []

    # -- rule 3: buildings, read once, only if a row needs them -----------------------------

    def _load_buildings(self) -> None:
        self._buildings = {}
        rows = (visible_to(Building, self.user).filter(region__isnull=False)
                .values_list("address", "region_id", "region_path"))
        for address, region_id, path in rows.iterator(chunk_size=5000):
            key = normalise_address(address)
            if key:
                self._buildings.setdefault(key, (region_id, path))
        self._lengths = sorted({len(k) for k in self._buildings}, reverse=True)

    def _by_building(self, address: str) -> Placed | None:
        if self._buildings is None:
            self._load_buildings()
        if not address or not self._buildings:
            return None
        text = normalise_address(address)
        for length in self._lengths:
            if length <= len(text):
                hit = self._buildings.get(text[:length])
                if hit is not None:
                    return Placed(hit[0], hit[1], "building")
        return None

    @property
    def uses_addresses(self) -> bool:
        """Whether rule 3 can place anything (some building is known in the area): callers
        need not hand addresses over otherwise."""
        if self._buildings is None:
            self._load_buildings()
        return bool(self._buildings)

    # -- rule 1: grid codes ----------------------------------------------------------------

    def _exists_elsewhere(self, code: str) -> bool:
        if code not in self._known_elsewhere:
            self._known_elsewhere[code] = Region.objects.filter(
                code=code, level=Level.GRID).exists()
        return self._known_elsewhere[code]

    def _by_code(self, code: str) -> Placed | Misplaced:
        hit = self.grids.get(code)
        if hit is not None:
            return Placed(hit[0], hit[1], "grid_code")
        if self._exists_elsewhere(code):
            return Misplaced("grid_code", _("grid %(code)s is outside your area")
                             % {"code": code[:20]})
        return Misplaced("grid_code", _("%(code)s is not the code of any grid")
                         % {"code": code[:20]})

    # -- rule 2: points, many at once ------------------------------------------------------

    def _points(self, spots: Sequence[Spot], wanted: list[int],
                out: list[Placed | Misplaced | None]) -> None:
        lons, lats, where = [], [], []
        for i in wanted:
            spot = spots[i]
            if not spot.lat:
                out[i] = Misplaced("lat", _("the latitude is missing: a point needs both"))
                continue
            if not spot.lon:
                out[i] = Misplaced("lon", _("the longitude is missing: a point needs both"))
                continue
            lon, lat = float(spot.lon), float(spot.lat)
            if not (-180.0 <= lon <= 180.0):
                out[i] = Misplaced("lon", _("a longitude lies between -180 and 180"))
            elif not (-90.0 <= lat <= 90.0):
                out[i] = Misplaced("lat", _("a latitude lies between -90 and 90"))
            else:
                lons.append(lon)
                lats.append(lat)
                where.append(i)
        if not where:
            return
        found = locate_bulk(lons, lats, nearest=False, describe=False).codes
        for i, code in zip(where, found, strict=True):
            if code is None:
                out[i] = Misplaced("lon", _("the point lies outside every grid (is it in "
                                            "WGS-84? map apps give GCJ-02 or BD-09)"))
            elif code in self.grids:
                region_id, path = self.grids[code]
                out[i] = Placed(region_id, path, "point")
            else:
                out[i] = Misplaced("lon", _("the point lies in grid %(code)s, outside your "
                                            "area") % {"code": code})

    # -- all rules -------------------------------------------------------------------------

    def place_many(self, spots: Sequence[Spot]) -> list[Placed | Misplaced]:
        """One answer per spot, in order."""
        out: list[Placed | Misplaced | None] = [None] * len(spots)
        with_point = []
        for i, spot in enumerate(spots):
            if spot.grid_code:
                out[i] = self._by_code(spot.grid_code)
            elif spot.lon or spot.lat:
                with_point.append(i)
        self._points(spots, with_point, out)
        for i, spot in enumerate(spots):
            if out[i] is None:
                out[i] = self._by_building(spot.address) or self._nowhere()
        return out  # type: ignore[return-value]

    def place(self, spot: Spot) -> Placed | Misplaced:
        return self.place_many([spot])[0]

    def _nowhere(self) -> Placed | Misplaced:
        if self.grid_required:
            return Misplaced("grid_code", _("no grid: this dataset is sent down to grids, so "
                                            "each row needs a grid code, a point or the "
                                            "address of a known building"))
        return NOWHERE
