"""Locate API under /api/v1/locate: which grid (网格) a point lies in.

Residents' apps, sensors (物联感知) and hotline systems need the grid under a point, so the
permission "regions.locate" (token scope "regions:locate") is held more widely than
"regions.view". The answer is deliberately small — the grid's code and name and its ancestors,
which are public administrative divisions — and nothing else about the grid, so it is the same
whoever asks and needs no scope filtering.

Coordinates are taken in the ``crs`` the caller names (wgs84, cgcs2000, gcj02 from AMap/Tencent,
bd09 from Baidu) and converted explicitly; there is no guessing from the numbers.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.conf import settings
from ninja import Field, Router, Schema
from ninja.errors import HttpError
from pydantic import ValidationError

from wangge.accounts.permissions import require_permission
from wangge.core.http import read_limited_body

from .crs import CRS_NAMES, normalise_crs
from .locate import GridInfo, LocateInputError, locate, locate_bulk

router = Router(tags=["locate"])

# One request is one transaction-free read, but its body is held in memory and answered in one
# piece: 100,000 points is about 4 MB in and out. Larger batches are split by the client.
MAX_BULK_POINTS = int(getattr(settings, "LOCATE_BULK_MAX_POINTS", 100_000))
# A full-precision point is about 45 bytes of JSON; the body limit follows the point limit
# (Django's DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB, is for forms and would stop at ~55,000).
BYTES_PER_POINT = 64
_CRS_HELP = f"coordinate system of the input: {', '.join(CRS_NAMES)}"


class RegionRefOut(Schema):
    code: str
    name: str
    level: int


class GridOut(Schema):
    code: str
    name: str


class GridWithAncestorsOut(Schema):
    code: str
    name: str
    ancestors: list[RegionRefOut] = Field(description="from the province down to the community")


class NearestOut(Schema):
    code: str
    name: str
    metres: float = Field(description="distance from the point to the grid's boundary")


class LocateOut(Schema):
    lon: float = Field(description="WGS-84 longitude actually located (after conversion)")
    lat: float = Field(description="WGS-84 latitude actually located (after conversion)")
    crs: str = Field(description="the coordinate system the point was given in")
    grid: GridOut | None
    ancestors: list[RegionRefOut]
    unassigned: bool = Field(description="true when the point lies in no grid")
    nearest: NearestOut | None = Field(
        description="for an unassigned point, the nearest grid within the configured distance, "
        "offered and not assigned")


class BulkIn(Schema):
    crs: str = Field("wgs84", description=_CRS_HELP)
    # Typed loosely so that a bad point is reported by its index, in words, by the view.
    points: list[Any] = Field(
        description=f"[[lon, lat], ...], at most {MAX_BULK_POINTS:,}",
        json_schema_extra={"items": {"type": "array", "items": {"type": "number"},
                                     "minItems": 2, "maxItems": 2}})


class BulkPointOut(Schema):
    grid: str | None = Field(description="grid code, or null when the point lies in no grid")
    nearest: NearestOut | None


class BulkOut(Schema):
    crs: str
    count: int
    assigned: int
    results: list[BulkPointOut] = Field(description="one per input point, in order")
    grids: dict[str, GridWithAncestorsOut] = Field(
        description="every grid named in results, with its ancestors")


def _allow(request) -> None:
    require_permission(request.user, "regions.locate", getattr(request, "api_token", None))


def _crs(value: str) -> str:
    try:
        return normalise_crs(value)
    except ValueError as exc:
        raise HttpError(422, str(exc)) from exc


def _refs(info: GridInfo) -> list[RegionRefOut]:
    return [RegionRefOut(code=a.code, name=a.name, level=a.level) for a in info.ancestors]


def _number(value: Any) -> bool:
    # JSON true/false would pass as 1/0 in Python; a coordinate is never a boolean.
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _parse_points(points: list[Any]) -> tuple[list[float], list[float]]:
    if len(points) > MAX_BULK_POINTS:
        raise HttpError(422, f"at most {MAX_BULK_POINTS} points per request, got {len(points)}: "
                             "split the batch")
    lons, lats = [], []
    for i, point in enumerate(points):
        if not (isinstance(point, list | tuple) and len(point) == 2
                and _number(point[0]) and _number(point[1])):
            raise HttpError(422, f"points[{i}]: expected [lon, lat] (two numbers), got "
                                 f"{str(point)[:60]}")
        if not (-180.0 <= point[0] <= 180.0 and -90.0 <= point[1] <= 90.0):
            raise HttpError(422, f"points[{i}]: [{point[0]}, {point[1]}] is not a longitude and "
                                 "latitude in degrees")
        lons.append(float(point[0]))
        lats.append(float(point[1]))
    return lons, lats


@router.get("", response=LocateOut, summary="Locate one point")
def locate_point(request, lon: float, lat: float, crs: str = "wgs84"):
    """The grid a point lies in, with its ancestors; or, outside every grid, the nearest grid
    within the configured distance as an offer (``grid`` stays null)."""
    _allow(request)
    name = _crs(crs)
    try:
        result = locate(lon, lat, name)
    except LocateInputError as exc:
        raise HttpError(422, f"lon/lat: {exc}") from exc
    near = result.nearest
    return LocateOut(
        lon=result.lon, lat=result.lat, crs=name,
        grid=GridOut(code=result.grid.code, name=result.grid.name) if result.grid else None,
        ancestors=_refs(result.grid) if result.grid else [],
        unassigned=result.unassigned,
        nearest=NearestOut(code=near.code, name=near.name, metres=round(near.metres, 2))
        if near else None,
    )


def _read_bulk_body(request) -> BulkIn:
    """The request body as ``BulkIn``, read under this endpoint's own size limit."""
    limit = MAX_BULK_POINTS * BYTES_PER_POINT + 1024
    too_big = HttpError(422, f"the body is over {limit} bytes: at most {MAX_BULK_POINTS} "
                             "points per request; split the batch")
    raw = read_limited_body(request, limit, too_big)
    try:
        data = json.loads(raw or b"null")
        if not isinstance(data, dict):
            raise HttpError(422, 'the body must be a JSON object: {"crs": ..., "points": '
                                 '[[lon, lat], ...]}')
        return BulkIn.model_validate(data)
    except ValueError as exc:  # bad JSON, or a body of the wrong shape
        if isinstance(exc, ValidationError):
            detail = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
                               for err in exc.errors()[:5])
        else:
            detail = f"the body is not JSON: {exc}"
        raise HttpError(422, detail) from exc


_BULK_BODY_DOC = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": BulkIn.model_json_schema()}}}}


@router.post("/bulk", response=BulkOut, summary="Locate many points", openapi_extra=_BULK_BODY_DOC)
def locate_points(request):
    """Up to the stated number of points in one call (JSON body ``{"crs": ..., "points":
    [[lon, lat], ...]}``), each answered like the single locate; grids named in the answers are
    described once in ``grids``."""
    _allow(request)
    payload = _read_bulk_body(request)
    name = _crs(payload.crs)
    lons, lats = _parse_points(payload.points)
    try:
        result = locate_bulk(lons, lats, name)
    except LocateInputError as exc:
        raise HttpError(422, f"points: {exc}") from exc
    names = {code: info.name for code, info in result.grids.items()}
    results = []
    for i, code in enumerate(result.codes):
        offer = result.nearest.get(i) if code is None else None
        results.append({
            "grid": code,
            "nearest": {"code": offer[0], "name": names.get(offer[0], ""),
                        "metres": round(offer[1], 2)} if offer else None,
        })
    grids = {code: {"code": code, "name": info.name,
                    "ancestors": [{"code": a.code, "name": a.name, "level": a.level}
                                  for a in info.ancestors]}
             for code, info in result.grids.items()}
    return {"crs": name, "count": len(results), "assigned": result.assigned,
            "results": results, "grids": grids}
