"""Completing a target — 任务对象完成: what a grid worker found, written once.

``complete_target`` is what the phone page and the offline sync call. A device may send the
same completion twice (no signal, a retry): the idempotency key makes the second a replay
that writes nothing. Two people completing the same target (or a device acting on a stale
copy, ``base_version``) is a ``Conflict`` that says who completed it and when.

One transaction writes the target, the tallies of its grid and every node above it up to the
task's area (进度, kept rather than counted), the observed values as registry facts (一次采集,
多方利用) and the audit record.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from wangge.accounts.roles import Role
from wangge.accounts.scope import visible_to
from wangge.audit.context import Actor, current_actor
from wangge.audit.services import record
from wangge.catalog.fields import clean_value, get_field
from wangge.core.clock import now
from wangge.core.refusals import Conflict, Forbidden, Invalid, NotFound, require
from wangge.gridwork.models import TargetStatus, Task, TaskStatus, TaskTally, TaskTarget
from wangge.privacy.errors import InvalidValue
from wangge.registry.facts import record_facts

KEY_MAX = 80
NOTE_MAX = 1000
# What a completion may set a target to; "unable" (无法完成) must say why.
FINAL_STATUSES = {TargetStatus.DONE: "done", TargetStatus.UNABLE: "unable"}
NOTE_REQUIRED = frozenset({TargetStatus.UNABLE})
# Who may send a completed target back (退回重做): the street / community staff who answer
# for the grid's work, not the grid worker who did it.
REOPEN_ROLES = frozenset({Role.STAFF})


@dataclass(frozen=True)
class TargetOutcome:
    """What ``complete_target`` did: ``applied`` when it wrote, ``replayed`` for a retry."""

    target: TaskTarget
    applied: bool
    replayed: bool


def _actor(user) -> Actor:
    current = current_actor()
    return current if current.user_id == user.pk else Actor.for_user(user)


def _locked_target(user, target_id) -> TaskTarget:
    try:
        pk = int(target_id)
    except (TypeError, ValueError):
        pk = 0
    target = (visible_to(TaskTarget, user).select_for_update(of=("self",))
              .filter(pk=pk).first())
    if target is None:
        raise NotFound(_("No task target number %(pk)s in your area.") % {"pk": target_id})
    return target


def _clean_note(note: str, required: bool) -> str:
    text = (note or "").strip()
    if required and not text:
        raise Invalid(_("Say why it could not be done: a note is required."), field="note")
    if len(text) > NOTE_MAX:
        raise Invalid(_("The note is at most %(n)d characters.") % {"n": NOTE_MAX},
                      field="note")
    return text


def clean_result(task: Task, result: dict | None, *, complete: bool) -> dict[str, str]:
    """The task's fields cleaned from ``result`` ({code: raw value}); a value that is not a
    field of the task, a bad value, or (when ``complete``) a missing one is ``Invalid``
    naming the field."""
    result = dict(result or {})
    asked = list(task.fields)
    for code in result:
        if code not in asked:
            raise Invalid(_("%(code)s is not asked by this task.") % {"code": str(code)[:40]},
                          field=str(code)[:60])
    out: dict[str, str] = {}
    for code in asked:
        spec = get_field(code)
        try:
            value = clean_value(code, result.get(code))
        except InvalidValue as exc:
            raise Invalid(f"{spec.label}: {exc}", field=code) from None
        if complete and not value:
            raise Invalid(_("%(label)s is required.") % {"label": spec.label}, field=code)
        out[code] = value
    return out


def _who_when(target: TaskTarget) -> dict:
    who = target.done_by.label if target.done_by_id else _("someone")
    when = (formats.date_format(timezone.localtime(target.done_at), "SHORT_DATETIME_FORMAT")
            if target.done_at else "")
    return {"who": who, "when": when, "status": target.get_status_display()}


def bump_tallies(target: TaskTarget, column: str, delta: int) -> None:
    """Add ``delta`` to ``column`` of the tallies of the target's grid and every node above
    it (up to the task's area). Rows are locked top-down so two completions in the same
    street queue on the street's row instead of deadlocking."""
    codes = target.region_path.rstrip(".").split(".")
    rows = (TaskTally.objects.select_for_update(of=("self",))
            .filter(task_id=target.task_id, period=target.period, region__code__in=codes)
            .order_by("level").values_list("pk", flat=True))
    TaskTally.objects.filter(pk__in=list(rows)).update(**{column: F(column) + delta})


def _case(user, case_id):
    if case_id in (None, ""):
        return None
    from wangge.cases.models import Case

    case = visible_to(Case, user).filter(pk=case_id).first() if str(case_id).isdigit() \
        else None
    if case is None:
        raise Invalid(_("No case number %(pk)s in your area.") % {"pk": case_id},
                      field="case")
    return case


def complete_target(user, target_id, *, status: str, result: dict | None, note: str = "",
                    idempotency_key: str, base_version: int | None = None, case_id=None,
                    token=None) -> TargetOutcome:
    """Mark a target done (the task's fields filled in) or unable (with a note)."""
    require(user, "gridwork.work", token)
    if status not in FINAL_STATUSES:
        raise Invalid(_("Choose done or could not be done."), field="status")
    key = (idempotency_key or "").strip()
    if not key or len(key) > KEY_MAX:
        raise Invalid(_("An idempotency key of 1 to %(n)d characters is required.")
                      % {"n": KEY_MAX}, field="idempotency_key")
    with transaction.atomic():
        target = _locked_target(user, target_id)
        if target.idempotency_key == key:
            if target.status != TargetStatus.PENDING:
                return TargetOutcome(target=target, applied=False, replayed=True)
            # The answer this key carried was sent back since: a late retry of it must not
            # put the wrong answer back.
            raise Conflict(_("%(label)s was sent back to be done again after this answer "
                             "was recorded; nothing was changed. Send a new answer.")
                           % {"label": target.label or target.object_id})
        task = Task.objects.select_related("department").get(pk=target.task_id)
        if task.status != TaskStatus.LAUNCHED:
            raise Conflict(_("The task %(title)s is %(status)s: its targets cannot be "
                             "completed now.")
                           % {"title": task.title, "status": task.get_status_display()})
        if target.status != TargetStatus.PENDING:
            raise Conflict(_("%(label)s was already marked %(status)s by %(who)s at "
                             "%(when)s; nothing was changed.")
                           % {"label": target.label or target.object_id, **_who_when(target)})
        if base_version is not None and int(base_version) != target.version:
            raise Conflict(_("%(label)s changed since you opened it; reload it and try "
                             "again.") % {"label": target.label or target.object_id})
        cleaned = clean_result(task, result, complete=status == TargetStatus.DONE)
        target.note = _clean_note(note, status in NOTE_REQUIRED)
        target.case = _case(user, case_id)
        target.status = status
        target.result = {code: value for code, value in cleaned.items() if value}
        target.done_at = now()
        target.done_by = user
        target.version += 1
        target.idempotency_key = key
        target.save(update_fields=["status", "result", "note", "case", "done_at", "done_by",
                                   "version", "idempotency_key"])
        bump_tallies(target, FINAL_STATUSES[status], 1)
        facts = record_facts(task.target_kind, target.object_id, target.result,
                             region_path=target.region_path, by=user,
                             department=task.department, source=f"gridwork.target:{target.pk}")
        record("gridwork.target.complete", target, actor=_actor(user), detail={
            "task": task.pk, "period": target.period, "status": status,
            "fields": sorted(target.result), "facts": facts, "version": target.version})
    return TargetOutcome(target=target, applied=True, replayed=False)


def reopen_target(user, target_id, note: str, token=None) -> TaskTarget:
    """Send a completed target back to be done again (a wrong answer): it is pending again
    and the tallies drop; the facts it wrote stay in the history, and the next completion's
    facts become the latest."""
    require(user, "gridwork.work", token)
    if user.role not in REOPEN_ROLES:
        raise Forbidden(_("Only street or community staff send a completed target back."))
    text = _clean_note(note, True)
    with transaction.atomic():
        target = _locked_target(user, target_id)
        task = Task.objects.get(pk=target.task_id)
        if task.status != TaskStatus.LAUNCHED:
            raise Conflict(_("The task %(title)s is %(status)s: its targets cannot be "
                             "reopened now.")
                           % {"title": task.title, "status": task.get_status_display()})
        if target.status == TargetStatus.PENDING:
            raise Conflict(_("%(label)s is still to do: there is nothing to send back.")
                           % {"label": target.label or target.object_id})
        was = target.status
        bump_tallies(target, FINAL_STATUSES[was], -1)
        target.status = TargetStatus.PENDING
        target.note = text
        target.done_at = None
        target.done_by = None
        # The key of the answer sent back stays: a late retry of that answer is refused
        # (see complete_target), and the next answer brings its own key.
        target.version += 1
        target.save(update_fields=["status", "note", "done_at", "done_by", "version"])
        record("gridwork.target.reopen", target, actor=_actor(user), detail={
            "task": task.pk, "period": target.period, "was": was, "note": text,
            "version": target.version})
    return target
