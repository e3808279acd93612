"""Task pages — 任务、巡检、拉网式排查: the list, the new-task form, a task with its progress
(drill-down by street / community / grid, map and table, CSV), and one target's phone page.

Thin: the task service decides, checks scope and audits. A refusal renders the refusal page
with its status and message, or, on a form, the message beside the input it names.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from wangge.accounts.permissions import has_permission, permission_required
from wangge.accounts.scope import visible_to
from wangge.catalog.fields import display_value
from wangge.core.clock import today
from wangge.core.refusals import Invalid, NotFound, Refusal
from wangge.gridwork.models import TargetStatus, TaskKind, TaskStatus, TaskTally, TaskTarget
from wangge.registry.models import HouseUsage, PlaceKind

from . import service
from .completion import REOPEN_ROLES
from .forms import TargetForm, TaskForm, field_label
from .launch import launch_progress
from .periods import missed_periods
from .progress import progress

LIST_MAX = 200
# The target filters a task may carry, and the choices that name their values.
FILTER_LABELS = {"place_kinds": PlaceKind, "house_usage": HouseUsage}
# What the department may do with its task in each status (the service checks again).
ACTIONS = {
    TaskStatus.DRAFT: ("launch", "cancel"),
    TaskStatus.LAUNCHING: ("cancel",),
    TaskStatus.LAUNCHED: ("close", "cancel"),
}
# Each action's service function and what the page says when it is done.
RUN = {
    "launch": (service.launch,
               gettext_lazy("Launched: the targets are sent to the grid workers.")),
    "close": (service.close_task, gettext_lazy("The task is closed.")),
    "cancel": (service.cancel_task, gettext_lazy("The task is cancelled.")),
}


def refusals(view: Callable) -> Callable:
    """A service's refusal becomes the refusal page, with its status and message."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Refusal as exc:
            return render(request, "gridwork/refused.html",
                          {"message": exc.message, "status": exc.status,
                           "back_to_tasks": True}, status=exc.status)

    return wrapped


def _int(value, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Invalid(_("%(value)s is not a number.") % {"value": str(value)[:20]},
                      field=field) from None


def _with_percent(tasks: list) -> list[dict]:
    """Each task with its total and percent finished, read from its area's tally for its
    latest round (one query for the page)."""
    tallies = {(t.task_id, t.period): t for t in TaskTally.objects.filter(
        task_id__in=[t.pk for t in tasks]).filter(region_id=F("task__region_id"))}
    rows = []
    for task in tasks:
        tally = tallies.get((task.pk, task.periods[-1] if task.periods else ""))
        total = tally.total if tally else 0
        finished = (tally.done + tally.unable) if tally else 0
        rows.append({"task": task, "total": total,
                     "percent": round(100 * finished / total, 1) if total else 0})
    return rows


def _target(user, pk: int) -> TaskTarget:
    """A target in the user's area (scoped like every read), else NotFound."""
    target = (visible_to(TaskTarget, user).filter(pk=pk)
              .select_related("task", "task__matter", "region", "assignee", "done_by").first())
    if target is None:
        raise NotFound(_("No task target number %(pk)s in your area.") % {"pk": pk})
    return target


# -- the list and the new-task form ------------------------------------------------------------


@permission_required("gridwork.view")
def task_list(request: HttpRequest) -> HttpResponse:
    """Tasks the user sees (a department: its own; others: those sent into their area)."""
    kind = request.GET.get("kind", "")
    status = request.GET.get("status", "")
    tasks = service.visible_tasks(request.user)
    if kind in TaskKind.values:
        tasks = tasks.filter(kind=kind)
    if status in TaskStatus.values:
        tasks = tasks.filter(status=status)
    rows = list(tasks.select_related("matter", "department", "region")[:LIST_MAX])
    return render(request, "gridwork/tasks/list.html", {
        "rows": _with_percent(rows), "kinds": TaskKind.choices,
        "statuses": TaskStatus.choices, "kind": kind, "status": status,
        "may_create": has_permission(request.user, "gridwork.tasks"),
    })


@permission_required("gridwork.tasks")
def task_new(request: HttpRequest) -> HttpResponse:
    """A new task as a draft; the service's refusal (e.g. an item not on the list) is shown
    beside the input it names, and nothing is saved."""
    form = TaskForm(request.user, request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                task = service.create_task(request.user, **form.arguments())
            except Refusal as exc:
                form.show_refusal(exc.field, exc.message)
                status = exc.status
            else:
                messages.success(request, _("Draft saved. Check it, then launch it."))
                return redirect("gridwork:tasks_task", pk=task.pk)
        else:
            status = 422
    return render(request, "gridwork/tasks/new.html", {"form": form}, status=status)


# -- a task: what it is, actions, progress -----------------------------------------------------


def _node_id(request: HttpRequest) -> int | None:
    return _int(request.GET.get("node"), "node")


@permission_required("gridwork.view")
@refusals
def task_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A task and its progress at a node (default its area): breadcrumbs up, the children
    on a map and in a table (a grid: its targets). Reads tallies only above grid level."""
    user = request.user
    task = service.get_task(user, pk)
    period = request.GET.get("period") or None
    report = progress(user, task, node=_node_id(request), period=period)
    mine = has_permission(user, "gridwork.tasks") and user.department_id == task.department_id
    done, expected = (launch_progress(task) if task.status == TaskStatus.LAUNCHING
                      else (task.targets_total, task.targets_total))
    query = request.GET.urlencode()
    return render(request, "gridwork/tasks/task.html", {
        "task": task, "report": report, "actions": ACTIONS.get(task.status, ()) if mine else (),
        "fields": [field_label(c) for c in task.fields],
        "filters": [FILTER_LABELS[key](value).label
                    for key, values in (task.target_filter or {}).items()
                    if key in FILTER_LABELS for value in values
                    if value in FILTER_LABELS[key].values],
        "launch": {"done": done, "expected": expected,
                   "percent": round(100 * done / expected) if expected else 0},
        "csv_url": reverse("gridwork:tasks_csv", args=[task.pk]) + (f"?{query}" if query else ""),
        "map": _map_config(report),
        "crumbs": _crumbs(user, report),
        "missed": [p.key for p in missed_periods(task.recurrence, task.starts_on, task.periods,
                                                 today())]
        if task.recurrence and task.status != TaskStatus.DRAFT else [],
    })


def _crumbs(user, report) -> list[dict]:
    """The path from the task's area down to the node; the nodes above the user's own are
    shown but not linked (they are not the user's to open)."""
    own = getattr(user, "region", None)
    return [{"region": r, "linked": own is None or r.level >= own.level}
            for r in report.path]


def _map_config(report) -> dict | None:
    """What the progress map draws: the node's children from the regions API, coloured by
    the percent done the table shows (the page carries no geometry, so it stays fast)."""
    node = report.node
    if report.is_grid:
        return None
    return {
        "childrenUrl": reverse("api:regions_children_geojson", args=[node.code]),
        "rows": {row.code: {"percent": row.percent, "finished": row.finished,
                            "total": row.total, "name": row.name,
                            "url": f"?node={row.region_id}"
                            + (f"&period={report.period}" if report.period else "")}
                 for row in report.children},
        "strings": {"done": _("done"), "noTargets": _("no targets"),
                    "failed": _("The map could not be loaded."),
                    "legend": _("completion rate")},
    }


@permission_required("gridwork.view")
@refusals
def task_launching(request: HttpRequest, pk: int) -> HttpResponse:
    """The launch progress bar (htmx polls it); when launched the page reloads."""
    task = service.get_task(request.user, pk)
    if task.status != TaskStatus.LAUNCHING:
        response = HttpResponse("")
        response["HX-Refresh"] = "true"
        return response
    done, expected = launch_progress(task)
    return render(request, "gridwork/tasks/_launching.html", {"task": task, "launch": {
        "done": done, "expected": expected,
        "percent": round(100 * done / expected) if expected else 0}})


@require_POST
@permission_required("gridwork.tasks")
@refusals
def task_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Launch, close or cancel the department's task."""
    if action not in RUN:
        raise NotFound(_("Unknown action."))
    run, said = RUN[action]
    task = run(request.user, pk)
    if action == "launch" and task.status == TaskStatus.LAUNCHING:
        said = _("Launching: the targets are being built; this page shows the progress.")
    messages.success(request, said)
    return redirect("gridwork:tasks_task", pk=pk)


@permission_required("gridwork.view")
@refusals
def task_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress table of a node as CSV (UTF-8 with a byte-order mark, for Excel)."""
    user = request.user
    task = service.get_task(user, pk)
    report = progress(user, task, node=_node_id(request),
                              period=request.GET.get("period") or None)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    if report.is_grid:
        writer.writerow([_("target"), _("status"), _("assignee"), _("done at")])
        for t in report.targets:
            writer.writerow([t.label, t.get_status_display(),
                             t.assignee.label if t.assignee_id else "",
                             t.done_at.isoformat() if t.done_at else ""])
    else:
        writer.writerow([_("area"), _("code"), _("total"), _("done"), _("could not be done"),
                         _("completion rate"), _("overdue")])
        for row in report.children:
            writer.writerow([row.name, row.code, row.total, row.done, row.unable, row.percent,
                             row.overdue])
    response = HttpResponse(out.getvalue().encode("utf-8"),
                            content_type="text/csv; charset=utf-8")
    name = f"task-{task.pk}-{report.node.code}{('-' + report.period) if report.period else ''}"
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


# -- one target ----------------------------------------------------------------------------------


def _target_form(target, data=None) -> TargetForm:
    initial = {"key": f"page-{target.pk}-{uuid.uuid4().hex}", "version": target.version,
               "status": TargetStatus.DONE}
    return TargetForm(list(target.task.fields), data, initial=initial)


@permission_required("gridwork.view")
@refusals
def target_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One target on a phone: the task's fields as a form; POST completes it once (the key
    made when the page was drawn turns a double submit into a replay)."""
    user = request.user
    target = _target(user, pk)
    form = _target_form(target, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                outcome = service.complete_target(
                    user, pk, status=data["status"], result=form.result(),
                    note=data.get("note") or "", idempotency_key=data["key"],
                    base_version=data.get("version"))
            except Refusal as exc:
                form.show_refusal(exc.field, exc.message)
                status = exc.status
            else:
                messages.success(request, _("Already saved.") if outcome.replayed
                                 else _("Saved. Thank you."))
                return redirect("gridwork:tasks_target", pk=pk)
        else:
            status = 422
        target = _target(user, pk)
    return render(request, "gridwork/tasks/target.html", {
        "target": target, "task": target.task, "form": form,
        "answers": [{"label": field_label(c), "value": display_value(c, target.result.get(c, ""))}
                    for c in target.task.fields],
        "may_complete": (has_permission(user, "gridwork.work")
                         and target.status == TargetStatus.PENDING
                         and target.task.status == TaskStatus.LAUNCHED),
        "may_reopen": (user.role in REOPEN_ROLES
                       and target.status != TargetStatus.PENDING
                       and target.task.status == TaskStatus.LAUNCHED),
    }, status=status)


@require_POST
@permission_required("gridwork.work")
@refusals
def target_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a completed target back to be done again, saying why."""
    service.reopen_target(request.user, pk, request.POST.get("note", ""))
    messages.success(request, _("Sent back: it is to do again."))
    return redirect("gridwork:tasks_target", pk=pk)
