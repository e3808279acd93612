"""The grid worker's day API — 网格员工作台 under /api/v1/gridwork/day, for a worker's app
(token scope ``gridwork:work``): today's work, the outbox sync, dismissing a conflict.

Thin: ``sync`` applies each item through its service and answers with receipts; a refusal of
the whole batch (wrong role, not a list) answers with its status and words.
"""

from __future__ import annotations

import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from wangge.accounts.permissions import has_permission
from wangge.core.http import REFUSAL_RESPONSES, refusal_response
from wangge.core.refusals import Refusal, require

from . import service, sync

router = Router(tags=["gridwork"])


class ItemIn(Schema):
    key: str
    kind: str
    payload: dict = {}
    base_version: int | None = None
    label: str = ""


class SyncIn(Schema):
    items: list[ItemIn]


class ReceiptOut(Schema):
    key: str
    kind: str
    outcome: str
    message: str
    detail: dict
    replayed: bool


class SyncOut(Schema):
    receipts: list[ReceiptOut]


class TargetOut(Schema):
    id: int
    task: int
    task_title: str
    label: str
    due_on: datetime.date | None
    version: int
    fields: list[str]


class VisitOut(Schema):
    person: int
    name: str
    tag: int
    tag_name: str
    due_on: datetime.date
    days_overdue: int
    last_visit: datetime.datetime | None


class FormTargetOut(Schema):
    id: int
    form: int
    form_name: str
    label: str = Field(description="the person's masked name and grid")
    due_on: datetime.date | None
    asked: list[str]


class TodayOut(Schema):
    targets_total: int
    targets: list[TargetOut]
    forms_total: int
    form_targets: list[FormTargetOut]
    visits: list[VisitOut]
    cases_to_verify: list[str]


class DismissIn(Schema):
    key: str



def _token(request: HttpRequest):
    return getattr(request, "api_token", None)



@router.get("/today", response={200: TodayOut, **REFUSAL_RESPONSES}, url_name="gridwork_day_today")
def today(request: HttpRequest):
    """What waits for the worker: open targets, visits due or overdue, cases to verify."""
    try:
        require(request.user, sync.PERMISSION, _token(request))
    except Refusal as exc:
        return refusal_response(exc)
    day = service.today(request.user)
    fills = has_permission(request.user, "catalog.fill", _token(request))
    targets = [{"id": t.pk, "task": g.task.pk, "task_title": g.task.title,
                "label": t.label, "due_on": t.due_on, "version": t.version,
                "fields": list(g.task.fields or [])} for g in day.groups for t in g.targets]
    return Status(200, {
        "targets_total": day.targets_total, "targets": targets,
        # Forms are answered under catalog.fill: a token without it is not shown them.
        "forms_total": day.forms_total if fills else 0,
        "form_targets": [{"id": i.target.pk, "form": g.form.pk, "form_name": g.form.name,
                          "label": i.label, "due_on": g.form.due_on,
                          "asked": list(i.target.asked)}
                         for g in day.form_groups if fills for i in g.items],
        "visits": [{"person": v.person_id, "name": v.name, "tag": v.tag_id, "tag_name": v.tag,
                    "due_on": v.due_on, "days_overdue": v.days_overdue,
                    "last_visit": v.last_visit} for v in day.visits],
        "cases_to_verify": [c.code for c in day.cases]})


@router.post("/sync", response={200: SyncOut, **REFUSAL_RESPONSES}, url_name="gridwork_day_sync")
def sync_items(request: HttpRequest, body: SyncIn):
    """Apply the outbox in order; one receipt per key (a key sent again: the same answer)."""
    items = [i.model_dump() for i in body.items]
    try:
        receipts = sync.sync(request.user, items, token=_token(request))
    except Refusal as exc:
        return refusal_response(exc)
    return Status(200, {"receipts": [r.as_dict() for r in receipts]})


@router.post("/dismiss", response={200: ReceiptOut, **REFUSAL_RESPONSES},
             url_name="gridwork_day_dismiss")
def dismiss(request: HttpRequest, body: DismissIn):
    """A conflict or refusal the worker has seen leaves her list."""
    try:
        receipt = sync.dismiss(request.user, body.key, token=_token(request))
    except Refusal as exc:
        return refusal_response(exc)
    return Status(200, {"key": body.key, "kind": receipt.kind, "outcome": receipt.outcome,
                        "message": (receipt.detail or {}).get("message", ""),
                        "detail": {}, "replayed": True})
