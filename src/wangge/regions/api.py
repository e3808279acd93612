"""Region API under /api/v1/regions: nodes, their children and GeoJSON for the maps.

Every route needs "regions.view" (and the "regions:read" scope on a token); a node outside
the caller's subtree answers 404 exactly like a missing one.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from ninja import Field, Query, Router, Schema

from wangge.accounts.permissions import require_permission
from wangge.accounts.scope import get_visible_or_404

from . import queries
from .models import Region

router = Router(tags=["regions"])

GEOJSON = "application/geo+json"


class RegionOut(Schema):
    code: str
    name: str
    level: int
    parent_code: str | None
    path: str
    attributes: dict


class ChildOut(Schema):
    code: str
    name: str
    level: int
    level_name: str
    has_geometry: bool
    grids: int = Field(description="grids at or below this node")
    households: int | None = Field(
        description="households summed over those grids that record them; null if none do")
    grid_type: str | None


class ChildPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[ChildOut]


class PageQuery(Schema):
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=500)


def region_out(region: Region) -> RegionOut:
    return RegionOut(code=region.code, name=region.name, level=region.level,
                     parent_code=region.parent.code if region.parent_id else None,
                     path=region.path, attributes=region.attributes)


def _allow(request: HttpRequest) -> None:
    require_permission(request.user, "regions.view", getattr(request, "api_token", None))


def _node(request: HttpRequest, code: str) -> Region:
    _allow(request)
    return get_visible_or_404(Region.objects.select_related("parent"), request.user, code=code)


def _child_page(request: HttpRequest, node: Region | None, paging: PageQuery) -> ChildPage:
    kids = queries.children(request.user, node)
    start = (paging.page - 1) * paging.page_size
    chosen = list(kids[start:start + paging.page_size])
    totals = queries.child_totals(request.user, node)
    labels = queries.level_labels()
    items = []
    for region in chosen:
        feature = queries.feature(region, totals.get(region.code), labels)["properties"]
        items.append(ChildOut(
            code=region.code, name=region.name, level=region.level,
            level_name=feature["level_name"], has_geometry=region.geometry is not None,
            grids=feature["grids"], households=feature["households"],
            grid_type=feature["grid_type"],
        ))
    return ChildPage(count=kids.count(), page=paging.page, page_size=paging.page_size,
                     items=items)


# The fixed paths come before "/{code}" so that "roots" is never read as a code.
@router.get("/roots", response=ChildPage, url_name="regions_roots")
def list_roots(request, paging: Query[PageQuery]):
    """The top of the caller's scope: their own node, or the top-level nodes when unbound."""
    _allow(request)
    return _child_page(request, None, paging)


@router.get("/roots.geojson", url_name="regions_roots_geojson",
            openapi_extra={"responses": {200: {"description": "GeoJSON FeatureCollection"}}})
def roots_geojson(request):
    _allow(request)
    return JsonResponse(queries.children_features(request.user, None), content_type=GEOJSON)


@router.get("/{code}", response=RegionOut, url_name="regions_get")
def get_region(request, code: str):
    return region_out(_node(request, code))


@router.get("/{code}/children", response=ChildPage, url_name="regions_children")
def list_children(request, code: str, paging: Query[PageQuery]):
    """The node's children, a page at a time, each with the grids and households below it."""
    return _child_page(request, _node(request, code), paging)


@router.get("/{code}/children.geojson", url_name="regions_children_geojson",
            openapi_extra={"responses": {200: {"description": "GeoJSON FeatureCollection"}}})
def children_geojson(request, code: str):
    """The node's children that have a boundary, as a FeatureCollection for the map."""
    node = _node(request, code)
    return JsonResponse(queries.children_features(request.user, node), content_type=GEOJSON)


@router.get("/{code}/geojson", url_name="regions_geojson",
            openapi_extra={"responses": {200: {"description": "GeoJSON Feature"}}})
def node_geojson(request, code: str):
    """The node's own Feature (geometry null when no boundary is recorded)."""
    node = _node(request, code)
    totals = queries.node_totals(request.user, node)
    return JsonResponse(queries.feature(node, totals, queries.level_labels()),
                        content_type=GEOJSON)
