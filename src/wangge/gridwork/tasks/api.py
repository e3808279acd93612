"""Tasks API — 任务接口 under /api/v1/gridwork/tasks: list, create, get with progress at a
node, launch, close, cancel, a node's targets, complete and reopen a target.

Thin: the task service checks role, department, scope, the matters-list gate and status.
Refusals answer with their status (403 / 404 / 409 / 422) and the service's words as
``{"detail": …, "field": …}``. Completing a target takes an ``Idempotency-Key`` header (or
``idempotency_key`` in the body): a retry answers 200 with ``replayed: true`` and writes
nothing; the first completion answers 201.

No ``from __future__ import annotations`` here: ninja reads these annotations at import time.
"""

import datetime

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, P, Query, Router, Schema, Status
from ninja.params import HeaderEx

from wangge.core.http import REFUSAL_RESPONSES, refusal_response
from wangge.core.refusals import Invalid, Refusal
from wangge.gridwork.models import TaskKind, TaskStatus

from . import service
from .progress import progress

router = Router(tags=["gridwork"])
LIST_MAX = 500
TARGETS_MAX = 1000



class TaskOut(Schema):
    id: int
    kind: str
    title: str
    instructions: str
    status: str
    matter: int
    matter_name: str
    department: str = Field(description="department code")
    region: int = Field(description="id of the area it is sent to")
    region_code: str
    areas: list[int]
    target_kind: str
    target_filter: dict
    fields: list[str]
    recurrence: str
    periods: list[str]
    starts_on: datetime.date
    due_on: datetime.date | None
    remind_days: int
    targets_total: int
    launched_at: datetime.datetime | None
    closed_at: datetime.datetime | None


class RowOut(Schema):
    region: int
    code: str
    name: str
    level: int
    total: int
    done: int
    unable: int
    percent: float = Field(description="finished (done or could not be done) / total, 0-100")
    overdue: int


class NodeOut(Schema):
    region: int
    code: str
    name: str
    level: int


class TargetOut(Schema):
    id: int
    task: int
    period: str
    object_id: int
    label: str
    grid: int
    grid_code: str
    status: str
    assignee: str = Field("", description="username")
    due_on: datetime.date | None
    done_at: datetime.datetime | None
    done_by: str = ""
    result: dict
    note: str
    version: int


class ProgressOut(Schema):
    node: RowOut
    period: str
    due_on: datetime.date | None
    path: list[NodeOut] = Field(description="from the task's area down to the node")
    children: list[RowOut]
    targets: list[TargetOut] = Field(description="at grid level: the grid's targets")


class TaskDetailOut(TaskOut):
    progress: ProgressOut | None = None


class TaskIn(Schema):
    kind: str
    title: str
    matter: int
    region: int
    target_kind: str
    starts_on: datetime.date
    due_on: datetime.date | None = None
    areas: list[int] = []
    target_filter: dict | None = None
    fields: list[str] = []
    recurrence: str = ""
    instructions: str = ""
    remind_days: int = 2


class EndIn(Schema):
    note: str = ""


class CompleteIn(Schema):
    status: str = Field(description="done | unable")
    result: dict = {}
    note: str = ""
    base_version: int | None = None
    case: int | None = None
    idempotency_key: str | None = Field(None, description="or the Idempotency-Key header")


class CompleteOut(Schema):
    target: TargetOut
    applied: bool
    replayed: bool


class ReopenIn(Schema):
    note: str


class ListQuery(Schema):
    kind: str | None = None
    status: str | None = None


class ProgressQuery(Schema):
    node: int | None = None
    period: str | None = None


class TargetsQuery(Schema):
    node: int | None = None
    status: str | None = None
    period: str | None = None


def _token(request: HttpRequest):
    return getattr(request, "api_token", None)



def _task_out(task) -> dict:
    return {"id": task.pk, "kind": task.kind, "title": task.title,
            "instructions": task.instructions, "status": task.status, "matter": task.matter_id,
            "matter_name": task.matter.name, "department": task.department.code,
            "region": task.region_id, "region_code": task.region.code, "areas": task.areas,
            "target_kind": task.target_kind, "target_filter": task.target_filter or {},
            "fields": task.fields, "recurrence": task.recurrence, "periods": task.periods,
            "starts_on": task.starts_on, "due_on": task.due_on,
            "remind_days": task.remind_days, "targets_total": task.targets_total,
            "launched_at": task.launched_at, "closed_at": task.closed_at}


def _row_out(row) -> dict:
    return {"region": row.region_id, "code": row.code, "name": row.name, "level": row.level,
            "total": row.total, "done": row.done, "unable": row.unable,
            "percent": row.percent, "overdue": row.overdue}


def _target_out(t) -> dict:
    grid_code = t.region_path.rstrip(".").rsplit(".", 1)[-1]  # no query per target
    return {"id": t.pk, "task": t.task_id, "period": t.period, "object_id": t.object_id,
            "label": t.label, "grid": t.region_id, "grid_code": grid_code,
            "status": t.status, "assignee": t.assignee.username if t.assignee_id else "",
            "due_on": t.due_on, "done_at": t.done_at,
            "done_by": t.done_by.username if t.done_by_id else "", "result": t.result,
            "note": t.note, "version": t.version}


def _progress_out(report) -> dict:
    return {"node": _row_out(report.row), "period": report.period or "",
            "due_on": report.due_on,
            "path": [{"region": r.pk, "code": r.code, "name": r.name, "level": r.level}
                     for r in report.path],
            "children": [_row_out(r) for r in report.children],
            "targets": [_target_out(t) for t in report.targets or ()]}


@router.get("/", response={200: list[TaskOut], **REFUSAL_RESPONSES}, url_name="gridwork_tasks")
def list_tasks(request: HttpRequest, filters: Query[ListQuery]):
    """Tasks the caller sees (a department: its own; others: those sent into their area)."""
    try:
        tasks = service.visible_tasks(request.user, _token(request))
    except Refusal as exc:
        return refusal_response(exc)
    if filters.kind:
        if filters.kind not in TaskKind.values:
            return refusal_response(Invalid(_("Unknown kind."), field="kind"))
        tasks = tasks.filter(kind=filters.kind)
    if filters.status:
        if filters.status not in TaskStatus.values:
            return refusal_response(Invalid(_("Unknown status."), field="status"))
        tasks = tasks.filter(status=filters.status)
    return [_task_out(t) for t in tasks[:LIST_MAX]]


@router.post("/", response={201: TaskOut, **REFUSAL_RESPONSES}, url_name="gridwork_tasks_create")
def create(request: HttpRequest, body: TaskIn):
    """Draft a task on an admitted grid matter of the caller's department (422 naming the
    input otherwise: an item not on the list is refused by the gate)."""
    try:
        task = service.create_task(
            request.user, kind=body.kind, title=body.title, matter_id=body.matter,
            region_id=body.region, target_kind=body.target_kind, starts_on=body.starts_on,
            due_on=body.due_on, areas=tuple(body.areas), target_filter=body.target_filter,
            fields=tuple(body.fields), recurrence=body.recurrence,
            instructions=body.instructions, remind_days=body.remind_days,
            token=_token(request))
    except Refusal as exc:
        return refusal_response(exc)
    return Status(201, _task_out(task))


@router.get("/{task_id}", response={200: TaskDetailOut, **REFUSAL_RESPONSES},
            url_name="gridwork_tasks_get")
def get(request: HttpRequest, task_id: int, q: Query[ProgressQuery]):
    """A task, with its progress at ``node`` (default its area) once launched."""
    try:
        task = service.get_task(request.user, task_id, _token(request))
        out = _task_out(task)
        if task.status in (TaskStatus.LAUNCHED, TaskStatus.CLOSED):
            out["progress"] = _progress_out(
                progress(request.user, task, node=q.node, period=q.period))
    except Refusal as exc:
        return refusal_response(exc)
    return out


def _end(request, task_id: int, run, note: str = ""):
    try:
        task = run(request.user, task_id, _token(request), note=note)
    except Refusal as exc:
        return refusal_response(exc)
    return Status(200, _task_out(task))


@router.post("/{task_id}/launch", response={200: TaskOut, 202: TaskOut, **REFUSAL_RESPONSES},
             url_name="gridwork_tasks_launch")
def launch(request: HttpRequest, task_id: int):
    """Launch a draft: 200 when its targets exist, 202 while a job builds a big one."""
    try:
        task = service.launch(request.user, task_id, _token(request))
    except Refusal as exc:
        return refusal_response(exc)
    return Status(202 if task.status == TaskStatus.LAUNCHING else 200, _task_out(task))


@router.post("/{task_id}/close", response={200: TaskOut, **REFUSAL_RESPONSES},
             url_name="gridwork_tasks_close")
def close(request: HttpRequest, task_id: int, body: EndIn | None = None):
    """Close a launched task."""
    return _end(request, task_id, service.close_task, body.note if body else "")


@router.post("/{task_id}/cancel", response={200: TaskOut, **REFUSAL_RESPONSES},
             url_name="gridwork_tasks_cancel")
def cancel(request: HttpRequest, task_id: int, body: EndIn | None = None):
    """Cancel a task (a draft, or one sent by mistake)."""
    return _end(request, task_id, service.cancel_task, body.note if body else "")


@router.get("/{task_id}/targets", response={200: list[TargetOut], **REFUSAL_RESPONSES},
            url_name="gridwork_tasks_targets")
def targets(request: HttpRequest, task_id: int, q: Query[TargetsQuery]):
    """The task's targets under ``node`` (default its area; at most 1,000: drill down)."""
    try:
        task = service.get_task(request.user, task_id, _token(request))
        rows = service.targets_page(request.user, task, q.node or task.region_id,
                                    status=q.status or None, period=q.period)
    except Refusal as exc:
        return refusal_response(exc)
    return [_target_out(t) for t in rows[:TARGETS_MAX]]


@router.post("/targets/{target_id}/complete",
             response={200: CompleteOut, 201: CompleteOut, **REFUSAL_RESPONSES},
             url_name="gridwork_tasks_complete")
def complete(request: HttpRequest, target_id: int, body: CompleteIn,
             idempotency_key: HeaderEx[str | None, P(alias="Idempotency-Key")] = None):
    """Complete a target: 201 written, 200 a retry with the same key (nothing written);
    409 when someone completed it first (the message says who and when)."""
    key = body.idempotency_key
    if idempotency_key and key and idempotency_key != key:
        return refusal_response(Invalid(_("The Idempotency-Key header and idempotency_key differ."),
                                field="idempotency_key"))
    try:
        outcome = service.complete_target(
            request.user, target_id, status=body.status, result=body.result, note=body.note,
            idempotency_key=key or idempotency_key or "", base_version=body.base_version,
            case_id=body.case, token=_token(request))
    except Refusal as exc:
        return refusal_response(exc)
    out = {"target": _target_out(outcome.target), "applied": outcome.applied,
           "replayed": outcome.replayed}
    return Status(201 if outcome.applied else 200, out)


@router.post("/targets/{target_id}/reopen", response={200: TargetOut, **REFUSAL_RESPONSES},
             url_name="gridwork_tasks_reopen")
def reopen(request: HttpRequest, target_id: int, body: ReopenIn):
    """Send a completed target back to be done again (street or community staff)."""
    try:
        target = service.reopen_target(request.user, target_id, body.note,
                                       token=_token(request))
    except Refusal as exc:
        return refusal_response(exc)
    return Status(200, _target_out(target))
