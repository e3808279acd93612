"""Grid matters API — 网格事项准入清单 under /api/v1/gridwork: list, apply, decide.

Thin: ``service`` checks role, department, scope and status. Refusals answer with their
status (403 / 404 / 409 / 422) and the service's words.
"""

from __future__ import annotations

import datetime

from django.http import HttpRequest
from ninja import Router, Schema, Status

from wangge.accounts.permissions import require_permission
from wangge.core.http import REFUSAL_RESPONSES, refusal_response

from . import service
from .service import Application, MatterError

router = Router(tags=["gridwork"])


class ItemOut(Schema):
    id: int
    name: str
    department: str
    status: str
    frequency: str
    fields: list[str]
    effective_from: datetime.date | None
    exited_on: datetime.date | None


class ApplyIn(Schema):
    name: str
    basis: str
    duties: str
    frequency: str
    fields: list[str] = []


class DecideIn(Schema):
    note: str = ""
    on: datetime.date | None = None



def _token(request: HttpRequest):
    return getattr(request, "api_token", None)


def _out(item) -> dict:
    return {"id": item.pk, "name": item.name, "department": item.department.code,
            "status": item.status, "frequency": item.frequency, "fields": item.fields,
            "effective_from": item.effective_from, "exited_on": item.exited_on}



@router.get("/matters", response=list[ItemOut], url_name="gridwork_matters")
def matters(request: HttpRequest):
    """The items the caller sees (a department's accounts: their own department's)."""
    require_permission(request.user, "gridwork.view", _token(request))
    return [_out(i) for i in service.visible_items(request.user)[:500]]


@router.post("/matters", response={201: ItemOut, 200: ItemOut, **REFUSAL_RESPONSES},
             url_name="gridwork_apply")
def apply(request: HttpRequest, body: ApplyIn):
    """Apply to admit an item (a retry of the same application answers the pending one)."""
    try:
        before = set(service.visible_items(request.user).values_list("pk", flat=True))
        item = service.apply(request.user, Application(
            name=body.name, basis=body.basis, duties=body.duties, frequency=body.frequency,
            fields=tuple(body.fields)), token=_token(request))
    except MatterError as exc:
        return refusal_response(exc)
    return Status(200 if item.pk in before else 201, _out(item))


@router.post("/matters/{pk}/{action}", response={200: ItemOut, **REFUSAL_RESPONSES},
             url_name="gridwork_decide")
def decide(request: HttpRequest, pk: int, action: str, body: DecideIn):
    """admit / refuse / apply_exit / approve_exit / refuse_exit, with a note and a date."""
    try:
        item = service.decide(request.user, pk, action, body.note, on=body.on,
                              token=_token(request))
    except MatterError as exc:
        return refusal_response(exc)
    return Status(200, _out(item))
