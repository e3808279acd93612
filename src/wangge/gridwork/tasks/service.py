"""Tasks, recurring inspections and campaigns — 任务、定期巡检、拉网式排查: the task engine.

A department drafts a task on one of its admitted grid matters (``create_task``: the gate of
多网合一 — work that is not on the list is refused), launches it (``launch``: one target per
household, building, place or grid of the chosen area, assigned to the grid's worker), and
closes or cancels it. Grid workers complete targets (``complete_target``, in
``completion``); progress is read from kept tallies (``progress``).

What each kind of task may target, which filters and fields suit which targets: declared
below as data, checked in one place (``_check_shape``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts.permissions import has_permission
from wangge.accounts.scope import visible_to
from wangge.audit.context import Actor, current_actor
from wangge.audit.services import record
from wangge.catalog.fields import get_field
from wangge.core.clock import today
from wangge.core.refusals import Conflict, Forbidden, Invalid, NotFound, require
from wangge.gridwork.models import (
    TargetKind,
    TargetStatus,
    Task,
    TaskKind,
    TaskStatus,
    TaskTarget,
)
from wangge.gridwork.service import NotAdmitted, require_admitted
from wangge.regions.models import Region
from wangge.regions.tree import subtree_q
from wangge.registry.models import HouseUsage, PlaceKind

from . import launch as launching
from .completion import TargetOutcome, complete_target, reopen_target
from .periods import RECURRENCES

__all__ = ["TargetOutcome", "cancel_task", "close_task", "complete_target", "create_task",
           "get_task", "launch", "open_targets", "reopen_target", "targets_page",
           "visible_tasks"]

TITLE_MAX = 120
TEXT_MAX = 4000
REMIND_MAX = 30


@dataclass(frozen=True)
class KindRule:
    """What a kind of task may target, and whether it repeats."""

    target_kinds: frozenset[str]
    recurring: bool


KIND_RULES: dict[str, KindRule] = {
    TaskKind.TASK: KindRule(frozenset(TargetKind.values), False),
    TaskKind.INSPECTION: KindRule(frozenset({TargetKind.PLACE, TargetKind.BUILDING}), True),
    TaskKind.CAMPAIGN: KindRule(
        frozenset({TargetKind.HOUSEHOLD, TargetKind.BUILDING, TargetKind.PLACE}), False),
}

# Which catalogue fields (their ``entity``) describe a target of each kind.
FIELD_ENTITIES: dict[str, frozenset[str]] = {
    TargetKind.HOUSEHOLD: frozenset({"household", "house", "any"}),
    TargetKind.BUILDING: frozenset({"building", "any"}),
    TargetKind.PLACE: frozenset({"place", "any"}),
    TargetKind.GRID: frozenset({"grid", "any"}),
}

# The filter a target kind accepts: its one key and the values allowed.
TARGET_FILTERS: dict[str, tuple[str, frozenset[str]]] = {
    TargetKind.PLACE: ("place_kinds", frozenset(PlaceKind.values)),
    TargetKind.HOUSEHOLD: ("house_usage", frozenset(HouseUsage.values)),
}

# Statuses a task may be closed or cancelled from.
CLOSABLE = frozenset({TaskStatus.LAUNCHED})
CANCELLABLE = frozenset({TaskStatus.DRAFT, TaskStatus.LAUNCHING, TaskStatus.LAUNCHED})


def _actor(user) -> Actor:
    current = current_actor()
    return current if current.user_id == user.pk else Actor.for_user(user)


# -- reading -------------------------------------------------------------------------------


def _require_any(user, permissions: tuple[str, ...], token=None) -> None:
    if not any(has_permission(user, p, token) for p in permissions):
        require(user, permissions[0], token)


def visible_tasks(user, token=None) -> QuerySet[Task]:
    """Tasks ``user`` may see: a department its own; everyone else those sent into their
    subtree."""
    _require_any(user, ("gridwork.view", "gridwork.tasks", "gridwork.work"), token)
    return visible_to(Task, user).select_related("matter", "department", "region")


def get_task(user, task_id, token=None) -> Task:
    task = visible_tasks(user, token).filter(pk=_as_int(task_id)).first()
    if task is None:
        raise NotFound(_("No task number %(pk)s.") % {"pk": task_id})
    return task


def open_targets(user) -> QuerySet[TaskTarget]:
    """The targets still to do for ``user`` (a grid worker: those of his grid), of launched
    tasks, soonest due first."""
    return (visible_to(TaskTarget, user)
            .filter(status=TargetStatus.PENDING, task__status=TaskStatus.LAUNCHED)
            .select_related("task", "region")
            .order_by(F("due_on").asc(nulls_last=True), "label", "pk"))


def node_in_task(user, task: Task, node) -> Region:
    """The region ``node`` (a Region or id), inside the task's area and the user's subtree,
    else NotFound."""
    node_id = getattr(node, "pk", node)
    region = (visible_to(Region, user).filter(subtree_q(task.region_path))
              .filter(pk=_as_int(node_id)).first())
    if region is None:
        raise NotFound(_("No area number %(pk)s in this task.") % {"pk": node_id})
    return region


def targets_page(user, task: Task, node, status: str | None = None,
                 period: str | None = None) -> QuerySet[TaskTarget]:
    """The task's targets under ``node`` (status and period optional), in tree order."""
    task = get_task(user, task.pk if isinstance(task, Task) else task)
    region = node_in_task(user, task, node)
    qs = TaskTarget.objects.filter(task=task).filter(subtree_q(region.path, "region_path"))
    if status:
        if status not in TargetStatus.values:
            raise Invalid(_("Unknown status."), field="status")
        qs = qs.filter(status=status)
    if period is not None:
        qs = qs.filter(period=period)
    elif task.periods:
        qs = qs.filter(period=task.periods[-1])
    return qs.select_related("assignee", "done_by", "region").order_by("region_path", "label",
                                                                       "pk")


# -- drafting --------------------------------------------------------------------------------


def _text(value: str, field: str, limit: int, label: str, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise Invalid(_("%(label)s is required.") % {"label": label}, field=field)
    if len(text) > limit:
        raise Invalid(_("%(label)s is at most %(n)d characters.") % {"label": label, "n": limit},
                      field=field)
    return text


def _as_int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _as_date(value, field: str, label: str, required: bool) -> datetime.date | None:
    if value in (None, ""):
        if required:
            raise Invalid(_("%(label)s is required.") % {"label": label}, field=field)
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise Invalid(_("%(label)s is not a date (write it as 2026-11-30).") % {"label": label},
                      field=field) from None


def _check_shape(kind: str, target_kind: str, recurrence: str) -> None:
    rule = KIND_RULES.get(kind)
    if rule is None:
        raise Invalid(_("Choose a kind of task."), field="kind")
    if target_kind not in rule.target_kinds:
        raise Invalid(_("A %(kind)s cannot target %(targets)s.")
                      % {"kind": TaskKind(kind).label,
                         "targets": TargetKind(target_kind).label
                         if target_kind in TargetKind.values else target_kind},
                      field="target_kind")
    if rule.recurring and recurrence not in RECURRENCES:
        raise Invalid(_("A recurring inspection repeats weekly, monthly, quarterly or yearly."),
                      field="recurrence")
    if not rule.recurring and recurrence:
        raise Invalid(_("Only recurring inspections repeat."), field="recurrence")


def _check_fields(codes, matter, target_kind: str) -> list[str]:
    out: list[str] = []
    allowed = set(matter.fields or [])
    suits = FIELD_ENTITIES[target_kind]
    for code in codes or ():
        code = (code or "").strip()
        if not code or code in out:
            continue
        if code not in allowed:
            raise Invalid(_("%(code)s is not among the fields of the grid matter %(item)s.")
                          % {"code": code[:40], "item": matter.name}, field="fields")
        spec = get_field(code)
        if spec.protected_kind or spec.entity not in suits:
            raise Invalid(_("%(label)s does not describe %(targets)s.")
                          % {"label": spec.label, "targets": TargetKind(target_kind).label},
                          field="fields")
        out.append(code)
    return out


def _check_filter(target_filter, target_kind: str) -> dict:
    if not target_filter:
        return {}
    if not isinstance(target_filter, dict):
        raise Invalid(_("The target filter is not understood."), field="target_filter")
    spec = TARGET_FILTERS.get(target_kind)
    out: dict[str, list[str]] = {}
    for key, values in target_filter.items():
        if not values:
            continue
        if spec is None or key != spec[0]:
            raise Invalid(_("The filter %(key)s does not apply to %(targets)s.")
                          % {"targets": TargetKind(target_kind).label, "key": str(key)[:40]},
                          field="target_filter")
        values = [values] if isinstance(values, str) else list(values)
        wrong = [v for v in values if v not in spec[1]]
        if wrong:
            raise Invalid(_("%(value)s is not a value of this filter.")
                          % {"value": str(wrong[0])[:40]}, field="target_filter")
        out[key] = sorted(set(values))
    return out


def _check_areas(user, areas, region: Region) -> list[int]:
    ids = sorted({_as_int(a) for a in areas or ()})
    if not ids:
        return []
    found = dict(visible_to(Region, user).filter(subtree_q(region.path), pk__in=ids)
                 .values_list("pk", "path"))
    missing = [i for i in ids if i not in found]
    if missing:
        raise Invalid(_("Area number %(pk)s is not inside %(area)s.")
                      % {"pk": missing[0], "area": region.name}, field="areas")
    return ids


def create_task(user, *, kind: str, title: str, matter_id, region_id, target_kind: str,
                starts_on, due_on=None, areas=(), target_filter=None, fields=(),
                recurrence: str = "", instructions: str = "", remind_days: int = 2,
                token=None) -> Task:
    """Draft a task of the user's department on one of its admitted grid matters.

    Refused (422, naming the input) when the matter item is not admitted for the start day,
    a field is not the item's or does not describe the targets, an area lies outside."""
    require(user, "gridwork.tasks", token)
    if user.department_id is None:
        raise Forbidden(_("Only a department's accounts send tasks to grids."))
    title = _text(title, "title", TITLE_MAX, _("The title"))
    instructions = _text(instructions, "instructions", TEXT_MAX, _("The instructions"),
                         required=False)
    recurrence = (recurrence or "").strip()
    _check_shape(kind, target_kind, recurrence)
    starts = _as_date(starts_on, "starts_on", _("The start day"), True)
    due = _as_date(due_on, "due_on", _("The due day"), False)
    if kind == TaskKind.INSPECTION:
        due = None  # each round is due at the end of its period
    elif due is not None and due < starts:
        raise Invalid(_("The due day cannot be before the start day."), field="due_on")
    try:
        remind = int(remind_days)
    except (TypeError, ValueError):
        remind = -1
    if not 0 <= remind <= REMIND_MAX:
        raise Invalid(_("Remind between 0 and %(n)d working days before.") % {"n": REMIND_MAX},
                      field="remind_days")
    try:
        matter = require_admitted(matter_id, user.department_id, on=starts)
    except NotAdmitted as exc:
        raise Invalid(exc.messages[0], field="matter") from None
    region = visible_to(Region, user).filter(pk=_as_int(region_id)).first()
    if region is None:
        raise Invalid(_("Choose an area within yours."), field="region")
    with transaction.atomic():
        task = Task.objects.create(
            kind=kind, title=title, instructions=instructions, matter=matter,
            department_id=user.department_id, region=region,
            areas=_check_areas(user, areas, region), target_kind=target_kind,
            target_filter=_check_filter(target_filter, target_kind),
            fields=_check_fields(fields, matter, target_kind), recurrence=recurrence,
            starts_on=starts, due_on=due, remind_days=remind, created_by=user)
        record("gridwork.task.create", task, actor=_actor(user), detail={
            "title": title, "kind": kind, "matter": matter.pk, "region": region.code,
            "target_kind": target_kind, "areas": task.areas, "fields": task.fields,
            "recurrence": recurrence})
    return task


# -- launching, closing ----------------------------------------------------------------------


def _own_task_locked(user, task_id, token) -> Task:
    require(user, "gridwork.tasks", token)
    visible = get_task(user, task_id, token)
    task = Task.objects.select_for_update().select_related("region").get(pk=visible.pk)
    if task.department_id != user.department_id:
        raise Forbidden(_("Only %(department)s acts on its tasks.")
                        % {"department": task.department.name})
    return task


def launch(user, task_id, token=None, *, inline: bool | None = None) -> Task:
    """Send a draft to grids: create its targets and tallies. Up to ``INLINE_LIMIT``
    targets (or ``inline=True``) now; more go to the ``gridwork.launch`` job (status
    LAUNCHING, ``launch.launch_progress`` for a bar). Launching again changes nothing."""
    # Parallel chunks need their own commits: not inside a caller's transaction.
    parallel = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        task = _own_task_locked(user, task_id, token)
        if task.status in (TaskStatus.LAUNCHING, TaskStatus.LAUNCHED):
            return task  # a double click or a retry
        if task.status != TaskStatus.DRAFT:
            raise Conflict(_("This task is %(status)s: it cannot be launched.")
                           % {"status": task.get_status_display()})
        try:
            require_admitted(task.matter_id, task.department_id,
                             on=max(task.starts_on, today()))
        except NotAdmitted as exc:
            raise Invalid(exc.messages[0], field="matter") from None
        expected = launching.estimate_targets(task)
        small = expected < launching.INLINE_LIMIT
        if small or (inline and not parallel):
            launching.build_now(task)
            return launching.finish_launch(task, _actor(user))
        if not inline:
            task.status = TaskStatus.LAUNCHING
            task.targets_total = 0
            task.save(update_fields=["status", "targets_total"])
            launching.remember_expected(task, expected)
            record("gridwork.task.launch", task, actor=_actor(user), detail={
                "expected": expected, "queued": True, "title": task.title})
            return task
    # A big build the caller waits for: chunks committed on several connections, then the
    # launch finished (a failure half-way leaves a draft whose next launch adds the rest).
    launching.build_parallel(task)
    with transaction.atomic():
        task = Task.objects.select_for_update().select_related("region").get(pk=task.pk)
        if task.status != TaskStatus.DRAFT:
            return task
        return launching.finish_launch(task, _actor(user))


def _end(user, task_id, token, allowed: frozenset, status: str, action: str,
         note: str) -> Task:
    with transaction.atomic():
        task = _own_task_locked(user, task_id, token)
        if task.status == status:
            return task
        if task.status not in allowed:
            raise Conflict(_("This task is %(status)s: it cannot be %(action)s.")
                           % {"status": task.get_status_display(),
                              "action": TaskStatus(status).label})
        task.status = status
        task.closed_at = timezone.now()
        task.save(update_fields=["status", "closed_at"])
        record(action, task, actor=_actor(user), detail={"title": task.title, "note": note})
    return task


def close_task(user, task_id, token=None, note: str = "") -> Task:
    """Close a launched task: its open targets leave the workers' lists; progress stays."""
    return _end(user, task_id, token, CLOSABLE, TaskStatus.CLOSED, "gridwork.task.close",
                note)


def cancel_task(user, task_id, token=None, note: str = "") -> Task:
    """Cancel a task (a draft, or one sent by mistake): nothing more is asked of grids."""
    return _end(user, task_id, token, CANCELLABLE, TaskStatus.CANCELLED,
                "gridwork.task.cancel", note)
