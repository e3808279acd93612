"""Command API under /api/v1/command: the one map's layers, as GeoJSON.

Every route needs "command.map"; a node outside the caller's subtree answers 404 like a
missing one; a bad date, measure, category, kind or limit answers 422 naming the field.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from ninja import Field, Query, Router, Schema

from . import layers

router = Router(tags=["command"])

GEOJSON = "application/geo+json"


class LayerQuery(Schema):
    node: str | None = Field(None, description="region code; default: the caller's own node")
    start: str | None = Field(None, description="first day, YYYY-MM-DD (default: 30 days ago)")
    end: str | None = Field(None, description="last day, YYYY-MM-DD (default: today)")
    category: str = Field("", description="a top-level category code")


class AreasQuery(LayerQuery):
    measure: str = Field(layers.DEFAULT_MEASURE,
                         description=f"one of {', '.join(layers.MEASURES)}")


class PointsQuery(LayerQuery):
    limit: int = Field(layers.DEFAULT_POINTS, description="the newest N cases (1–2000)")


class PlacesQuery(Schema):
    node: str | None = Field(None, description="region code; default: the caller's own node")
    kind: str = Field("", description="comma-separated place kinds (default: every kind)")


def _answer(build, *args, content_type: str = GEOJSON, **kwargs) -> JsonResponse:
    try:
        data = build(*args, **kwargs)
    except ValidationError as exc:
        return JsonResponse({"detail": "invalid", "errors": exc.message_dict}, status=422)
    return JsonResponse(data, content_type=content_type)


def _token(request: HttpRequest):
    return getattr(request, "api_token", None)


UNPROCESSABLE = {422: {"description": "a bad field, named in errors"}}


@router.get("/map/areas", url_name="command_map_areas", openapi_extra={"responses": {
    200: {"description": "GeoJSON FeatureCollection of the node's children, coloured"},
    **UNPROCESSABLE}})
def map_areas(request: HttpRequest, q: Query[AreasQuery]):
    """The node's children with their value of ``measure`` (open now, overdue now,
    satisfaction in the period, reported per 1,000 households), colour and legend; the
    node's own outline in ``node``."""
    return _answer(layers.areas, request.user, q.node, q.start, q.end, measure=q.measure,
                   category=q.category, token=_token(request))


@router.get("/map/cases", url_name="command_map_cases", openapi_extra={"responses": {
    200: {"description": "GeoJSON points: the newest cases reported in the period"},
    **UNPROCESSABLE}})
def map_cases(request: HttpRequest, q: Query[PointsQuery]):
    """Case points (number, category, state, traffic light; no personal data), newest
    first, with ``total`` and ``shown``."""
    return _answer(layers.case_points, request.user, q.node, q.start, q.end,
                   category=q.category, limit=q.limit, token=_token(request))


@router.get("/map/heat", url_name="command_map_heat", openapi_extra={"responses": {
    200: {"description": "case density as [lat, lon, count] cells"}, **UNPROCESSABLE}})
def map_heat(request: HttpRequest, q: Query[LayerQuery]):
    """Cases reported in the period, counted per cell for the heat layer."""
    return _answer(layers.heat, request.user, q.node, q.start, q.end, category=q.category,
                   token=_token(request), content_type="application/json")


@router.get("/map/places", url_name="command_map_places", openapi_extra={"responses": {
    200: {"description": "GeoJSON points: key places under the node"}, **UNPROCESSABLE}})
def map_places(request: HttpRequest, q: Query[PlacesQuery]):
    """Key places (schools, hospitals, hazardous-chemicals sites …) under the node."""
    return _answer(layers.places, request.user, q.node, kinds=q.kind, token=_token(request))
