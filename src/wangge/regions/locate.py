"""locate(): which grid (网格) a point lies in — one point, or a million at once.

Residents' reports, grid workers' phones, sensors and hotline addresses all arrive as a lon/lat;
the case they start belongs to the grid under that point. The answer must be exact and
deterministic: a point on the edge shared by two grids (or on a vertex shared by several) goes
to the grid with the smallest code among those whose closed polygon covers it, every time, in
single and bulk calls alike. A point in no grid is never silently snapped to one: the nearest
grid within ``settings.LOCATE_NEAREST_METRES`` is *offered* beside an empty answer.

How it is fast and still exact (``LocateIndex``):

- A uniform raster over the grids' extent, each cell about 1/256 of a grid. Cells that no
  polygon edge touches lie wholly inside (or outside) every polygon, so one number per cell
  answers every point in it with a numpy lookup. The label of those cells comes from a scanline
  fill computed once at build time; it is robust because such a cell's centre is at least half a
  cell from every edge.
- Cells that an edge touches (found conservatively; 10-20% of cells) keep the short list
  of polygons whose edges touch them, plus the polygon covering the whole cell if any; points
  falling there are decided by GEOS (``shapely.intersects_xy``), the same exact predicate a
  brute-force check uses, so answers are identical to brute force, ties included.

The index is built once per process from the database and cached; every call compares the
tree's geometry revision (one cheap query, once per bulk call) and rebuilds when it changed.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from django.conf import settings
from numpy.typing import ArrayLike

from .crs import normalise_crs, to_wgs84
from .geometry import METRES_PER_DEGREE, to_shape

# The models are imported where used: ``LocateIndex`` works without Django set up (bench/).

NO_GRID = -1
# Cells of the raster per grid: the finer, the fewer points need the exact test, at the cost
# of memory (4 bytes a cell) and cache misses. 256 measured best on the demo city: about a
# tenth of its cells, and of random points, go to GEOS.
CELLS_PER_GRID = 256
MAX_CELLS = 1 << 25  # 128 MiB of raster at most, whatever the extent
_BIG = np.iinfo(np.int32).max
# Slack, in cells, when marking the cells an edge touches: far above floating-point noise in
# the cell coordinate (~1e-12 of a cell), far below a cell.
_EDGE_SLACK = 1e-6
_PIECE_CELLS = 0.99


class LocateInputError(ValueError):
    """A point that cannot be located (not finite, or not a lon/lat); names the point."""


@dataclass(frozen=True)
class RegionRef:
    code: str
    name: str
    level: int


@dataclass(frozen=True)
class GridInfo:
    """A grid and its ancestors from the province down (public administrative data)."""

    code: str
    name: str
    ancestors: list[RegionRef]


@dataclass(frozen=True)
class Nearest:
    code: str
    name: str
    metres: float


@dataclass(frozen=True)
class LocateResult:
    """Where one point lies. ``lon``/``lat`` are the WGS-84 coordinates actually located."""

    lon: float
    lat: float
    grid: GridInfo | None
    nearest: Nearest | None = None

    @property
    def unassigned(self) -> bool:
        return self.grid is None

    @property
    def ancestors(self) -> list[RegionRef]:
        """The grid's ancestors from the province down; empty when unassigned."""
        return self.grid.ancestors if self.grid else []


@dataclass
class BulkResult:
    """Where many points lie: ``codes[i]`` is point i's grid code or None.

    ``nearest`` maps the index of an unassigned point to the grid offered for it (within the
    configured distance); ``grids`` describes every grid code that appears in either.
    """

    lons: np.ndarray
    lats: np.ndarray
    codes: list[str | None]
    nearest: dict[int, tuple[str, float]] = field(default_factory=dict)
    grids: dict[str, GridInfo] = field(default_factory=dict)

    @property
    def assigned(self) -> int:
        return sum(code is not None for code in self.codes)


class LocateIndex:
    """An exact point-in-grid index over a fixed set of polygons (see the module docstring).

    Polygons are kept sorted by code, so "smallest code" is "smallest position" and every
    answer is a position into ``codes`` (or ``NO_GRID``).
    """

    def __init__(self, codes: np.ndarray, polygons: np.ndarray, *, cells_per_grid: int,
                 max_cells: int) -> None:
        self.codes = codes
        self.polygons = polygons
        self.tree = shapely.STRtree(polygons)
        self._build_raster(cells_per_grid, max_cells)

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def from_polygons(cls, codes: Sequence[str], polygons: Sequence[shapely.Geometry], *,
                      cells_per_grid: int = CELLS_PER_GRID,
                      max_cells: int = MAX_CELLS) -> LocateIndex:
        """An index over ``polygons`` (Polygon or MultiPolygon, WGS-84), one per code.

        Needs no database, so benchmarks and tests can build one from generated shapes.
        """
        codes = [str(c) for c in codes]
        if len(codes) != len(polygons):
            raise ValueError(f"{len(codes)} codes but {len(polygons)} polygons")
        if len(set(codes)) != len(codes):
            raise ValueError("grid codes must be unique")
        geoms = np.empty(len(polygons), dtype=object)
        geoms[:] = list(polygons)
        for code, geom in zip(codes, geoms, strict=True):
            if (not isinstance(geom, shapely.Polygon | shapely.MultiPolygon)
                    or geom.is_empty):
                raise ValueError(f"grid {code}: a boundary must be a non-empty (Multi)Polygon, "
                                 f"not {getattr(geom, 'geom_type', type(geom).__name__)}")
        order = sorted(range(len(codes)), key=codes.__getitem__)
        sorted_codes = np.array([codes[i] for i in order], dtype=object)
        sorted_geoms = geoms[np.array(order, dtype=np.int64)] if order else geoms
        shapely.prepare(sorted_geoms)
        return cls(sorted_codes, sorted_geoms, cells_per_grid=cells_per_grid,
                   max_cells=max_cells)

    def __len__(self) -> int:
        return len(self.codes)

    def _build_raster(self, cells_per_grid: int, max_cells: int) -> None:
        n = len(self.polygons)
        self.boundary_share = 0.0
        if n == 0:
            self.nx = self.ny = 0
            return
        minx, miny, maxx, maxy = shapely.total_bounds(self.polygons)
        width, height = maxx - minx, maxy - miny
        mean_area = float(shapely.area(self.polygons).sum()) / n
        h = math.sqrt(mean_area / cells_per_grid) if mean_area > 0 else 0.0
        # Never more than max_cells, whatever the extent (grids scattered over a province).
        h = max(h, math.sqrt(max(width * height, 0.0) / max_cells), 1e-9)
        self.h = h
        self.inv_h = 1.0 / h
        # Half a cell of margin all round: every closed polygon lies strictly inside.
        self.x0 = minx - h / 2
        self.y0 = miny - h / 2
        self.nx = int((maxx - self.x0) * self.inv_h) + 2
        self.ny = int((maxy - self.y0) * self.inv_h) + 2
        ncells = self.nx * self.ny

        # Every edge of every ring, with the polygon (position) it bounds.
        parts, part_owner = shapely.get_parts(self.polygons, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
        u = (coords[:, 0] - self.x0) * self.inv_h
        v = (coords[:, 1] - self.y0) * self.inv_h
        same = coord_ring[:-1] == coord_ring[1:]
        first = np.nonzero(same)[0]
        owner = part_owner[ring_part[coord_ring[first]]].astype(np.int64)
        ua, va, ub, vb = u[first], v[first], u[first + 1], v[first + 1]

        edge_cells, edge_owner = self._cells_touched(ua, va, ub, vb, owner, n)
        boundary = np.zeros(ncells, dtype=bool)
        boundary[edge_cells] = True

        cover_cells, cover_owner = self._scanline_cover(u, v, first, owner)
        label = np.full(ncells, _BIG, dtype=np.int32)
        np.minimum.at(label, cover_cells, cover_owner.astype(np.int32))

        # Boundary cells: the polygon covering the whole cell, if any, without touching it
        # (only overlapping polygons do that), else the exact test over the touching ones.
        at_boundary = boundary[cover_cells]
        cover_keys = cover_cells[at_boundary] * n + cover_owner[at_boundary]
        edge_keys = edge_cells * n + edge_owner  # sorted and unique
        pos = np.searchsorted(edge_keys, cover_keys)
        pos = np.minimum(pos, len(edge_keys) - 1)
        whole = edge_keys[pos] != cover_keys
        fallback_all = np.full(ncells, _BIG, dtype=np.int32)
        np.minimum.at(fallback_all, (cover_keys[whole] // n),
                      (cover_keys[whole] % n).astype(np.int32))

        bcells = np.nonzero(boundary)[0]
        keep = edge_owner < fallback_all[edge_cells]
        cand_cells, cand = edge_cells[keep], edge_owner[keep].astype(np.int32)
        self.offsets = np.searchsorted(cand_cells, np.append(bcells, ncells)).astype(np.int64)
        self.candidates = cand
        fb = fallback_all[bcells]
        self.fallback = np.where(fb == _BIG, NO_GRID, fb).astype(np.int32)

        raster = np.where(label == _BIG, NO_GRID, label).astype(np.int32)
        raster[bcells] = -2 - np.arange(len(bcells), dtype=np.int32)
        self.raster = raster
        self.boundary_share = len(bcells) / ncells

    def _cells_touched(self, ua, va, ub, vb, owner, n):
        """(cell, polygon) for every cell an edge of the polygon touches, or may touch.

        Each edge is cut into pieces no longer than a cell; a piece can only touch the cells
        its slightly widened bounding box covers, so marking those is a safe superset.
        """
        length = np.maximum(np.abs(ub - ua), np.abs(vb - va))
        # Pieces shorter than a cell less the slack on both ends span at most two cells each
        # way, so four candidate cells per piece cover it.
        pieces = np.maximum(np.ceil(length / _PIECE_CELLS), 1).astype(np.int64)
        e = np.repeat(np.arange(len(ua)), pieces)
        starts = np.cumsum(pieces) - pieces
        j = np.arange(len(e)) - np.repeat(starts, pieces)
        t0 = j / pieces[e]
        t1 = (j + 1) / pieces[e]
        du, dv = (ub - ua)[e], (vb - va)[e]
        pu0, pu1 = ua[e] + du * t0, ua[e] + du * t1
        pv0, pv1 = va[e] + dv * t0, va[e] + dv * t1
        ix0 = np.floor(np.minimum(pu0, pu1) - _EDGE_SLACK).astype(np.int64)
        ix1 = np.floor(np.maximum(pu0, pu1) + _EDGE_SLACK).astype(np.int64)
        iy0 = np.floor(np.minimum(pv0, pv1) - _EDGE_SLACK).astype(np.int64)
        iy1 = np.floor(np.maximum(pv0, pv1) + _EDGE_SLACK).astype(np.int64)
        if len(e) and (int((ix1 - ix0).max()) > 1 or int((iy1 - iy0).max()) > 1):
            raise RuntimeError("an edge piece spans more than two cells")
        base = (iy0 * self.nx + ix0) * n + owner[e]
        step_x, step_y = n, self.nx * n
        keys = np.concatenate((
            base,
            base[ix1 > ix0] + step_x,
            base[iy1 > iy0] + step_y,
            base[(ix1 > ix0) & (iy1 > iy0)] + (step_x + step_y),
        ))
        # Sort, then drop repeats: np.unique is far slower on tens of millions of keys.
        keys.sort()
        keep = np.ones(len(keys), dtype=bool)
        keep[1:] = keys[1:] != keys[:-1]
        keys = keys[keep]
        return keys // n, keys % n

    def _scanline_cover(self, u, v, first, owner):
        """(cell, polygon) for every cell whose centre lies inside the polygon (even-odd).

        Rows are scanned along their centre lines. A vertex is assigned to rows once
        (``k`` is computed per vertex, not per edge), so the two edges meeting at a vertex
        never both or neither count a crossing by rounding, and every row's crossings pair up.
        """
        k = np.ceil(v - 0.5).astype(np.int64)  # first row whose centre is at or above
        ka, kb = k[first], k[first + 1]
        lo, hi = np.minimum(ka, kb), np.maximum(ka, kb)
        span = hi - lo
        crossing = span > 0
        e = np.repeat(np.nonzero(crossing)[0], span[crossing])
        starts = np.cumsum(span[crossing]) - span[crossing]
        rows = lo[e] + (np.arange(len(e)) - np.repeat(starts, span[crossing]))
        a, b = first[e], first[e] + 1
        xs = u[a] + (rows + 0.5 - v[a]) * (u[b] - u[a]) / (v[b] - v[a])
        own = owner[e]
        order = np.lexsort((xs, own, rows))
        rows, own, xs = rows[order], own[order], xs[order]
        if len(xs) % 2:
            raise ValueError("a ring does not close; boundaries must be valid polygons")
        left, right = xs[0::2], xs[1::2]
        rows, own = rows[0::2], own[0::2]
        c0 = np.clip(np.ceil(left - 0.5).astype(np.int64), 0, self.nx)
        c1 = np.clip(np.ceil(right - 0.5).astype(np.int64), 0, self.nx)
        count = np.maximum(c1 - c0, 0)
        valid = (rows >= 0) & (rows < self.ny) & (count > 0)
        c0, count, rows, own = c0[valid], count[valid], rows[valid], own[valid]
        idx = np.repeat(np.arange(len(c0)), count)
        starts = np.cumsum(count) - count
        cols = c0[idx] + (np.arange(len(idx)) - starts[idx])
        return rows[idx] * self.nx + cols, own[idx]

    # -- queries --------------------------------------------------------------------------

    def locate(self, lons: ArrayLike, lats: ArrayLike) -> np.ndarray:
        """The position in ``codes`` of the grid under each point, or ``NO_GRID``.

        Inputs are WGS-84 degrees; points that are not finite get ``NO_GRID``.
        """
        x = np.asarray(lons, dtype=np.float64).ravel()
        y = np.asarray(lats, dtype=np.float64).ravel()
        out = np.full(len(x), NO_GRID, dtype=np.int32)
        if len(self.codes) == 0 or len(x) == 0:
            return out
        fu = np.floor((x - self.x0) * self.inv_h)
        fv = np.floor((y - self.y0) * self.inv_h)
        # NaN compares False, so non-finite points drop out here too.
        inside = (fu >= 0) & (fu < self.nx) & (fv >= 0) & (fv < self.ny)
        where = np.nonzero(inside)[0]
        cells = fv[where].astype(np.int64) * self.nx + fu[where].astype(np.int64)
        val = self.raster[cells]
        out[where] = np.maximum(val, NO_GRID)
        edge = val <= -2
        if edge.any():
            pts = where[edge]
            out[pts] = self._exact(x[pts], y[pts], -2 - val[edge])
        return out

    def _exact(self, x: np.ndarray, y: np.ndarray, bcell: np.ndarray) -> np.ndarray:
        """Decide points in boundary cells with GEOS, smallest code first.

        A cell's candidates are sorted by position, so the first one that covers the point is
        the answer; testing rank by rank, only the points still open go on to the next rank.
        The polygon covering the whole cell, if any, comes after every candidate.
        """
        start = self.offsets[bcell]
        count = self.offsets[bcell + 1] - start
        out = self.fallback[bcell].copy()
        open_ = np.nonzero(count > 0)[0]
        rank = 0
        while len(open_):
            cand = self.candidates[start[open_] + rank]
            hit = shapely.intersects_xy(self.polygons[cand], x[open_], y[open_])
            out[open_[hit]] = cand[hit]
            rank += 1
            open_ = open_[~hit]
            open_ = open_[count[open_] > rank]
        return out

    def nearest(self, lons: ArrayLike, lats: ArrayLike,
                max_metres: float) -> tuple[np.ndarray, np.ndarray]:
        """The nearest grid within ``max_metres`` of each point: (positions, metres).

        Distances are measured in a local equirectangular plane around each point, which at a
        few hundred metres is exact to well under a metre. Equal distances go to the smaller
        code. Points with none that close get ``NO_GRID`` and ``inf``.
        """
        x = np.asarray(lons, dtype=np.float64).ravel()
        y = np.asarray(lats, dtype=np.float64).ravel()
        best = np.full(len(x), NO_GRID, dtype=np.int32)
        metres = np.full(len(x), np.inf)
        if len(self.codes) == 0 or len(x) == 0 or max_metres <= 0:
            return best, metres
        ok = np.isfinite(x) & np.isfinite(y) & (np.abs(y) < 89.0)
        dlat = max_metres / METRES_PER_DEGREE
        # The widest the search must reach east-west is at the box's pole-ward edge.
        cos_far = np.cos(np.radians(np.minimum(np.abs(y) + dlat, 89.5)))
        dlon = dlat / cos_far
        where = np.nonzero(ok)[0]
        boxes = shapely.box(x[where] - dlon[where], y[where] - dlat,
                            x[where] + dlon[where], y[where] + dlat)
        q_pt, q_poly = self.tree.query(boxes)
        if len(q_pt) == 0:
            return best, metres
        pt = where[q_pt]
        geoms = self.polygons[q_poly]
        _, coord_owner = shapely.get_coordinates(geoms, return_index=True)
        ox, oy = x[pt][coord_owner], y[pt][coord_owner]
        scale_x = METRES_PER_DEGREE * np.cos(np.radians(oy))

        def to_local(c: np.ndarray) -> np.ndarray:
            return np.column_stack(((c[:, 0] - ox) * scale_x, (c[:, 1] - oy) * METRES_PER_DEGREE))

        local = shapely.transform(geoms, to_local)
        dist = shapely.distance(local, shapely.Point(0.0, 0.0))
        close = dist <= max_metres
        pt, poly, dist = pt[close], q_poly[close], dist[close]
        order = np.lexsort((poly, dist, pt))
        pt, poly, dist = pt[order], poly[order], dist[order]
        head = np.ones(len(pt), dtype=bool)
        head[1:] = pt[1:] != pt[:-1]
        best[pt[head]] = poly[head]
        metres[pt[head]] = dist[head]
        return best, metres


# -- the per-process index over the database ---------------------------------------------

_lock = threading.Lock()
_cached: tuple[tuple, LocateIndex] | None = None


def _revision_key() -> tuple:
    """The geometry revision, with the counter row's creation time.

    The time tells apart two counters that reached the same number from different starts
    (a restored database, or tests each rolled back to an empty tree).
    """
    from .models import TreeRevision

    row = TreeRevision.objects.filter(pk=1).values_list("geometry_revision", "changed_at").first()
    return tuple(row) if row else (0, None)


def build_index_from_db() -> LocateIndex:
    """A fresh index over every grid (level 6) that has a boundary."""
    from .models import Level, Region

    rows = (Region.objects.filter(level=Level.GRID, geometry__isnull=False)
            .values_list("code", "geometry").iterator(chunk_size=2000))
    codes, polygons = [], []
    for code, geojson in rows:
        if not geojson:
            continue
        codes.append(code)
        polygons.append(to_shape(geojson))
    return LocateIndex.from_polygons(codes, polygons)


# How long a process trusts its index before it asks the database for the geometry revision
# again: a boundary import is seen by every process within this many seconds.
REVISION_CHECK_SECONDS = 1.0
_checked_at = 0.0


def current_index() -> LocateIndex:
    """The cached index, rebuilt first if the boundaries changed since it was built."""
    global _cached, _checked_at
    cached = _cached
    now = time.monotonic()
    if cached is not None and now - _checked_at < REVISION_CHECK_SECONDS:
        return cached[1]
    key = _revision_key()
    _checked_at = now
    if cached is not None and cached[0] == key:
        return cached[1]
    with _lock:
        cached = _cached
        if cached is not None and cached[0] == key:
            return cached[1]
        # The key was read before the rows: a change in between only causes one more rebuild.
        index = build_index_from_db()
        _cached = (key, index)
        return index


def recheck_revision() -> None:
    """Make the next ``current_index`` ask the database for the revision again."""
    global _checked_at
    _checked_at = 0.0


def clear_cache() -> None:
    """Forget the cached index (tests; a process that knows boundaries changed)."""
    global _cached, _checked_at
    with _lock:
        _cached = None
        _checked_at = 0.0


def _checked_points(lons: ArrayLike, lats: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(lons, dtype=np.float64).ravel()
    y = np.asarray(lats, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise LocateInputError(f"{len(x)} longitudes but {len(y)} latitudes")
    bad = ~(np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180.0) & (np.abs(y) <= 90.0))
    if bad.any():
        i = int(np.argmax(bad))
        raise LocateInputError(
            f"point {i}: ({x[i]}, {y[i]}) is not a longitude/latitude in degrees")
    return x, y


def describe_grids(codes: Sequence[str]) -> dict[str, GridInfo]:
    """Names and ancestors of the given grid codes, read in two queries (chunked)."""
    from .models import Region

    wanted = sorted(set(codes))
    grids: dict[str, tuple[str, str]] = {}
    for i in range(0, len(wanted), 5000):
        for code, name, path in Region.objects.filter(code__in=wanted[i:i + 5000]).values_list(
                "code", "name", "path"):
            grids[code] = (name, path)
    ancestor_codes = sorted({a for _, path in grids.values()
                             for a in path.rstrip(".").split(".")[:-1]})
    refs: dict[str, RegionRef] = {}
    for i in range(0, len(ancestor_codes), 5000):
        for code, name, level in Region.objects.filter(
                code__in=ancestor_codes[i:i + 5000]).values_list("code", "name", "level"):
            refs[code] = RegionRef(code, name, level)
    out = {}
    for code, (name, path) in grids.items():
        chain = [refs[a] for a in path.rstrip(".").split(".")[:-1] if a in refs]
        out[code] = GridInfo(code, name, sorted(chain, key=lambda r: r.level))
    return out


def locate_bulk(lons: ArrayLike, lats: ArrayLike, crs: str = "wgs84", *,
                nearest: bool = True, describe: bool = True) -> BulkResult:
    """Locate many points given in ``crs`` (see ``crs.to_wgs84``) over the grids in the database.

    Raises ValueError for an unknown ``crs`` and ``LocateInputError`` naming the first point
    that is not a lon/lat. With ``nearest``, each unassigned point is offered the nearest grid
    within ``settings.LOCATE_NEAREST_METRES``.
    """
    normalise_crs(crs)
    x, y = _checked_points(lons, lats)
    x, y = to_wgs84(x, y, crs)
    index = current_index()
    pos = index.locate(x, y)
    codes_arr = index.codes
    codes: list[str | None] = [None] * len(pos)
    hit = np.nonzero(pos != NO_GRID)[0]
    for i, code in zip(hit.tolist(), codes_arr[pos[hit]].tolist(), strict=True):
        codes[i] = code
    offered: dict[int, tuple[str, float]] = {}
    if nearest:
        missing = np.nonzero(pos == NO_GRID)[0]
        if len(missing):
            near, metres = index.nearest(x[missing], y[missing], settings.LOCATE_NEAREST_METRES)
            found = near != NO_GRID
            for i, p, m in zip(missing[found].tolist(), near[found].tolist(),
                               metres[found].tolist(), strict=True):
                offered[i] = (str(codes_arr[p]), float(m))
    used = {c for c in codes if c is not None} | {c for c, _ in offered.values()}
    grids = describe_grids(used) if describe else {}
    return BulkResult(lons=x, lats=y, codes=codes, nearest=offered, grids=grids)


def locate(lon: float, lat: float, crs: str = "wgs84", *,
           describe: bool = True) -> LocateResult:
    """Locate one point given in ``crs``: its grid and ancestors, or the nearest grid offered.

    The same computation as ``locate_bulk`` on a single point, so the two always agree.
    """
    bulk = locate_bulk([lon], [lat], crs, describe=describe)
    code = bulk.codes[0]
    x, y = float(bulk.lons[0]), float(bulk.lats[0])
    if code is not None:
        # A grid deleted since the index was built still answers, nameless, until rebuilt.
        return LocateResult(lon=x, lat=y, grid=bulk.grids.get(code) or GridInfo(code, "", []))
    offer = bulk.nearest.get(0)
    near = None
    if offer is not None:
        info = bulk.grids.get(offer[0])
        near = Nearest(code=offer[0], name=info.name if info else "", metres=offer[1])
    return LocateResult(lon=x, lat=y, grid=None, nearest=near)
