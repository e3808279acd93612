"""Figures API under /api/v1/figures: the summary of a node and period, with its children.

Needs "figures.view" (token scope ``figures:read``); a node outside the caller's subtree
answers 404 like a missing one; a bad date or filter answers 422 naming the field.
"""

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from ninja import Field, Query, Router, Schema

from . import service

router = Router(tags=["figures"])


class SummaryQuery(Schema):
    node: str | None = Field(None, description="region code; default: the caller's own node")
    start: str | None = Field(None, description="first day, YYYY-MM-DD (default: 30 days ago)")
    end: str | None = Field(None, description="last day, YYYY-MM-DD (default: today)")
    category: str = Field("", description="a top-level category code")
    source: str = Field("", description="a case source (patrol, resident, hotline …)")
    department: str = Field("", description="a department code")


@router.get("/summary", url_name="figures_summary", openapi_extra={"responses": {
    200: {"description": "flows in the period, stock now, for the node and its children"},
    422: {"description": "a bad date or filter, named"}}})
def get_summary(request: HttpRequest, q: Query[SummaryQuery]):
    """Counts for one node: new, registered, dispatched, returned, handled, closed (and on
    time), reworked, extended, suspended, voided, merged, went overdue, ratings — in the
    period; and open by stage and overdue now. Children give the drill-down, ``up`` the way
    back."""
    try:
        data = service.summary(request.user, q.node, q.start, q.end, category=q.category,
                               source=q.source, department=q.department,
                               token=getattr(request, "api_token", None))
    except ValidationError as exc:
        return JsonResponse({"detail": "invalid", "errors": exc.message_dict}, status=422)
    return JsonResponse(data)


class TrendQuery(SummaryQuery):
    flows: str = Field("", description="comma-separated flow names (default: every flow)")


@router.get("/trend", url_name="figures_trend", openapi_extra={"responses": {
    200: {"description": "the node's flows in the period, a point a day (a month when the "
                         "period is longer than a quarter)"},
    422: {"description": "a bad date, filter or flow name, named"}}})
def get_trend(request: HttpRequest, q: Query[TrendQuery]):
    """The daily (or monthly) series behind the trend chart: reported, closed … per day."""
    names = tuple(n.strip() for n in q.flows.split(",") if n.strip()) or None
    try:
        data = service.trend(request.user, q.node, q.start, q.end, category=q.category,
                             source=q.source, department=q.department, flows=names,
                             token=getattr(request, "api_token", None))
    except ValidationError as exc:
        return JsonResponse({"detail": "invalid", "errors": exc.message_dict}, status=422)
    return JsonResponse(data)
