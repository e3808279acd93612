"""Briefings API under /api/v1/briefings.

``GET /`` lists the caller's briefings and ``GET /{id}`` gives one's content as the caller
may see it: "briefings.view" (token scope ``briefings:read``), nodes in the caller's subtree
only (404 otherwise), a bad kind or node answers 422 naming the field. ``GET /public`` is the
transparency page's JSON, open to anyone (no authentication): aggregates and the matters
list, nothing personal.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from ninja import Field, Query, Router, Schema

from . import public, service

router = Router(tags=["briefings"])
LIST_LIMIT = 200


def _invalid(exc: ValidationError) -> JsonResponse:
    return JsonResponse({"detail": "invalid", "errors": exc.message_dict}, status=422)


class ListQuery(Schema):
    kind: str = Field("", description="daily, weekly or monthly")
    node: str = Field("", description="a region code in your area")
    limit: int = Field(50, ge=1, le=LIST_LIMIT)


class PublicQuery(Schema):
    node: str | None = Field(None, description="a public city, district or street code; "
                                               "default: the top one")
    page: int = Field(1, ge=1, le=public.MAX_PAGE, description="page of the matters list")


@router.get("/public", auth=None, url_name="briefings_public", openapi_extra={"responses": {
    200: {"description": "aggregate figures and one page of the matters list"},
    422: {"description": "not a public node, or a bad page, named"}}})
def get_public(request: HttpRequest, q: Query[PublicQuery]):
    """Figures for the last 30 days and this year (received, closed, closed on time,
    satisfaction, average hours to close), by month this year, and the matters list:
    category, street, received, state, closed, rating — no titles, addresses or names."""
    try:
        node = public.public_node(q.node)
        data = public.figures(node)
        listing = public.matters(node, q.page)
    except ValidationError as exc:
        return _invalid(exc)
    items = [{**m, "state_label": public.state_label(m["state"])} for m in listing["items"]]
    return JsonResponse({**data, "average_time_to_close": "calendar hours, receipt to closure",
                         "matters": {**listing, "items": items}})


@router.get("/", url_name="briefings_list")
def list_briefings(request: HttpRequest, q: Query[ListQuery]):
    """Briefings of nodes in the caller's area, newest first."""
    try:
        qs = service.list_briefings(request.user, kind=q.kind, node=q.node,
                                    token=getattr(request, "api_token", None))
    except ValidationError as exc:
        return _invalid(exc)
    return JsonResponse({"items": [
        {"id": b.pk, "node": {"code": b.node.code, "name": b.node.name}, "kind": b.kind,
         "start": b.period_start.isoformat(), "end": b.period_end.isoformat(),
         "generated_at": b.generated_at.isoformat()} for b in qs[:q.limit]]})


@router.get("/{int:briefing_id}", url_name="briefings_detail")
def get_briefing(request: HttpRequest, briefing_id: int):
    """One briefing's sections, with the overdue cases limited to those the caller may see."""
    briefing = service.get_briefing(request.user, briefing_id,
                                    token=getattr(request, "api_token", None))
    return JsonResponse(service.as_json(request.user, briefing))
