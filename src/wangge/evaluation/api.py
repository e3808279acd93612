"""Evaluation API under /api/v1/evaluation: indicator values and the index ranking.

Needs "evaluation.view" (token scope ``evaluation:read``); a node outside the caller's
subtree answers 404 like a missing one; a bad unit kind, date or weights version answers 422
naming the field.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from ninja import Field, Query, Router, Schema

from . import service
from .indicators import INDICATORS

router = Router(tags=["evaluation"])

_UNIT = ("unit kind: street (街道), community (社区), department (职能部门) or grid_worker "
         "(网格员); default street")


class UnitsQuery(Schema):
    unit: str = Field("street", description=_UNIT)
    node: str | None = Field(None, description="region code the units lie in; default: the "
                                               "caller's own node")
    start: str | None = Field(None, description="first day, YYYY-MM-DD (default: 30 days ago)")
    end: str | None = Field(None, description="last day, YYYY-MM-DD (default: today)")


class IndexQuery(UnitsQuery):
    version: str | None = Field(None, description="weights version; default: the current one")


def _invalid(exc: ValidationError) -> JsonResponse:
    return JsonResponse({"detail": "invalid", "errors": exc.message_dict}, status=422)


_RESPONSES = {422: {"description": "a bad unit kind, date or version, named"},
              403: {"description": "the caller may not read evaluations"},
              404: {"description": "no such node in the caller's area"}}


@router.get("/indicators", url_name="evaluation_indicators", openapi_extra={"responses": {
    200: {"description": "every indicator for each unit: value, numerator, denominator"},
    **_RESPONSES}})
def get_indicators(request: HttpRequest, q: Query[UnitsQuery]):
    """The evaluation indicators (立案率, 按期处置率, 按期结案率, 群众满意率 …) of every unit of a
    kind inside a node, for a period. Rates are shares (0-1), averages in hours, counts
    whole numbers; ``value`` is null when the denominator is empty."""
    try:
        data = service.indicator_values(request.user, q.unit, q.node, q.start, q.end,
                                        token=getattr(request, "api_token", None))
    except ValidationError as exc:
        return _invalid(exc)
    return JsonResponse(data)


@router.get("/index", url_name="evaluation_index", openapi_extra={"responses": {
    200: {"description": "the units ranked by index score, with last period's rank and "
                         "score and what moved it"}, **_RESPONSES}})
def get_index(request: HttpRequest, q: Query[IndexQuery]):
    """The governance index (治理指数) ranking: units of a kind inside a node by score this
    period and the previous one of equal length — rank change, score change, the dimension
    scores and the indicators that moved the score most."""
    try:
        data = service.ranking(request.user, q.unit, q.node, q.start, q.end,
                               version=q.version, token=getattr(request, "api_token", None))
    except ValidationError as exc:
        return _invalid(exc)
    return JsonResponse(data)


@router.get("/definitions", url_name="evaluation_definitions", openapi_extra={"responses": {
    200: {"description": "the indicators' formulas and the current index weights"}}})
def get_definitions(request: HttpRequest):
    """How every indicator is computed (formula, unit, direction, normalisation) and the
    current weights of the index."""
    from wangge.accounts.permissions import require_permission

    require_permission(request.user, "evaluation.view", getattr(request, "api_token", None))
    weights = service.current_weights()
    return JsonResponse({
        "indicators": [{"code": i.code, "zh": i.zh, "en": str(i.en), "numerator": i.numerator,
                        "denominator": i.denominator, "unit": i.unit, "direction": i.direction,
                        "units": sorted(i.units), "definition": str(i.definition),
                        "normalisation": {k: v for k, v in vars(i.norm).items()
                                          if v is not None}} for i in INDICATORS],
        "weights": {"version": weights.version, "note": weights.note, **weights.spec},
    })
