"""The grid matters list — 网格事项准入清单: admission, exit and the gate (多网合一).

A department applies to admit an item (``apply``); the district's command centre admits or
refuses it (``decide``); an admitted item leaves the same way (``apply_exit`` then
``decide``). Each step is one transaction, audited, and written to the item's history
(``MatterDecision``). Retrying a step already taken is a no-op; a step the status does not
allow is a ``Conflict`` (409).

``require_admitted`` is the gate every feature that sends work to grids calls: work must
reference an admitted item of the sending department, or it is refused saying so.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts.scope import visible_to
from wangge.audit.context import Actor, current_actor
from wangge.audit.services import record
from wangge.catalog.fields import get_field
from wangge.core.refusals import Conflict, Forbidden, Invalid, NotFound, Refusal, require
from wangge.privacy.errors import InvalidValue

from .models import ON_LIST, DecisionAction, Frequency, MatterDecision, MatterItem, MatterStatus

NAME_MAX = 120
TEXT_MAX = 4000
NOTE_MAX = 1000
LIST_NAME = "网格事项准入清单"


# -- errors --------------------------------------------------------------------------------


# The refusals pages and the API answer with (``core.refusals``); ``MatterError`` is their base.
MatterError = Refusal


class NotAdmitted(ValidationError):
    """The gate's refusal: the work does not reference an admitted item of the sender."""


def _actor(user) -> Actor:
    current = current_actor()
    return current if current.user_id == user.pk else Actor.for_user(user)


# -- reading -------------------------------------------------------------------------------


def visible_items(user) -> QuerySet[MatterItem]:
    """Items ``user`` may see (a department's people: their own department's)."""
    return visible_to(MatterItem, user).select_related("department", "region")


def get_item(user, pk: int) -> MatterItem:
    item = visible_items(user).filter(pk=pk).first()
    if item is None:
        raise NotFound(_("No grid matter number %(pk)s.") % {"pk": pk})
    return item


def review_queue(user) -> QuerySet[MatterItem]:
    """Items waiting for the reviewer's district: admission or exit applications."""
    if user.region_id is None:
        return MatterItem.objects.none()
    return visible_items(user).filter(
        region_id=user.region_id,
        status__in=(MatterStatus.APPLIED, MatterStatus.EXIT_APPLIED)).order_by("updated_at")


def public_items() -> QuerySet[MatterItem]:
    """What the public page lists: items on the list and items that have left it."""
    return (MatterItem.objects.filter(status__in=(*ON_LIST, MatterStatus.EXITED))
            .select_related("department", "region")
            .order_by("region__code", "department__name", "name"))


# -- applying ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Application:
    """What a department states about an item it asks to admit."""

    name: str
    basis: str
    duties: str
    frequency: str
    fields: tuple[str, ...] = ()


def _text(value: str, field: str, limit: int, label: str) -> str:
    text = (value or "").strip()
    if not text:
        raise Invalid(_("%(label)s is required.") % {"label": label}, field=field)
    if len(text) > limit:
        raise Invalid(_("%(label)s is at most %(n)d characters.") % {"label": label, "n": limit},
                      field=field)
    return text


def _clean_fields(codes: Iterable[str]) -> list[str]:
    out: list[str] = []
    for code in codes:
        code = (code or "").strip()
        if not code or code in out:
            continue
        try:
            get_field(code)
        except InvalidValue as exc:
            raise Invalid(str(exc), field="fields") from None
        out.append(code)
    return out


def clean_application(app: Application) -> Application:
    """The application with every input checked; the first wrong one is named."""
    if app.frequency not in Frequency.values:
        raise Invalid(_("Choose a frequency."), field="frequency")
    return Application(
        name=_text(app.name, "name", NAME_MAX, _("The name")),
        basis=_text(app.basis, "basis", TEXT_MAX, _("The legal or policy basis")),
        duties=_text(app.duties, "duties", TEXT_MAX, _("What grid workers do")),
        frequency=app.frequency, fields=tuple(_clean_fields(app.fields)))


def apply(user, app: Application, token=None) -> MatterItem:
    """The user's department applies to admit an item. The same application again (a retry)
    returns the pending item; a name already on the department's list is a ``Conflict``."""
    require(user, "gridwork.apply", token)
    department = user.department
    if department is None:
        raise Forbidden(_("Only a department's accounts apply for grid matters."))
    app = clean_application(app)
    with transaction.atomic():
        same = (MatterItem.objects.select_for_update()
                .filter(department=department, name=app.name)
                .exclude(status__in=(MatterStatus.REFUSED, MatterStatus.EXITED)).first())
        if same is not None:
            if same.status == MatterStatus.APPLIED and _same_content(same, app):
                return same
            raise Conflict(_("%(name)s is already %(status)s for your department.")
                           % {"name": same.name, "status": same.get_status_display()},
                           field="name")
        item = MatterItem.objects.create(
            name=app.name, department=department, region=department.region, basis=app.basis,
            duties=app.duties, frequency=app.frequency, fields=list(app.fields),
            applied_by=user)
        _log(user, item, DecisionAction.APPLY, "")
    return item


def _same_content(item: MatterItem, app: Application) -> bool:
    return (item.basis, item.duties, item.frequency, list(item.fields)) == (
        app.basis, app.duties, app.frequency, list(app.fields))


# -- deciding ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One transition of an item: from which status to which, by whom, a note required."""

    start: str
    target: str
    permission: str
    note_required: bool


STEPS: dict[str, Step] = {
    DecisionAction.ADMIT: Step(MatterStatus.APPLIED, MatterStatus.ADMITTED,
                               "gridwork.review", False),
    DecisionAction.REFUSE: Step(MatterStatus.APPLIED, MatterStatus.REFUSED,
                                "gridwork.review", True),
    DecisionAction.APPLY_EXIT: Step(MatterStatus.ADMITTED, MatterStatus.EXIT_APPLIED,
                                    "gridwork.apply", True),
    DecisionAction.APPROVE_EXIT: Step(MatterStatus.EXIT_APPLIED, MatterStatus.EXITED,
                                      "gridwork.review", False),
    DecisionAction.REFUSE_EXIT: Step(MatterStatus.EXIT_APPLIED, MatterStatus.ADMITTED,
                                     "gridwork.review", True),
}


def _clean_note(note: str, required: bool) -> str:
    text = (note or "").strip()
    if required and not text:
        raise Invalid(_("Say why: a note is required."), field="note")
    if len(text) > NOTE_MAX:
        raise Invalid(_("The note is at most %(n)d characters.") % {"n": NOTE_MAX},
                      field="note")
    return text


def _check_actor(user, item: MatterItem, step: Step) -> None:
    if step.permission == "gridwork.apply":
        if user.department_id != item.department_id:
            raise Forbidden(_("Only %(department)s asks for its items to exit.")
                            % {"department": item.department.name})
    elif user.region_id != item.region_id:
        raise Forbidden(_("Only the command centre of %(district)s reviews its grid matters.")
                        % {"district": item.region.name})


def decide(user, pk: int, action: str, note: str = "", *,
           on: datetime.date | None = None, token=None) -> MatterItem:
    """Take ``action`` on item ``pk`` (admit / refuse / apply_exit / approve_exit /
    refuse_exit). ``on`` is the effective date of an admission or an exit (today)."""
    step = STEPS.get(action)
    if step is None:
        raise Invalid(_("Unknown action."), field="action")
    require(user, step.permission, token)
    note = _clean_note(note, step.note_required)
    with transaction.atomic():
        item = MatterItem.objects.select_for_update().get(pk=get_item(user, pk).pk)
        _check_actor(user, item, step)
        if item.status == step.target and _last_action(item) == action:
            return item  # a double click or a retry
        if item.status != step.start:
            raise Conflict(_("This item is %(status)s: it cannot be %(action)s now.")
                           % {"status": item.get_status_display(),
                              "action": DecisionAction(action).label})
        day = on or timezone.localdate()
        item.status = step.target
        if action == DecisionAction.ADMIT:
            item.effective_from = day
        elif action == DecisionAction.APPROVE_EXIT:
            item.exited_on = day
        item.save(update_fields=["status", "effective_from", "exited_on", "updated_at"])
        _log(user, item, action, note, day=day)
    return item


def _last_action(item: MatterItem) -> str | None:
    last = item.decisions.order_by("-at", "-pk").first()
    return last.action if last else None


def _log(user, item: MatterItem, action: str, note: str, day=None) -> None:
    MatterDecision.objects.create(item=item, action=action, by=user, note=note)
    record(f"gridwork.matter.{action}", item, actor=_actor(user), detail={
        "name": item.name, "department": item.department.code, "status": item.status,
        "note": note, "date": day.isoformat() if day else None})


# -- the gate (多网合一) ----------------------------------------------------------------------


def require_admitted(item_id, department, *, on: datetime.date | None = None) -> MatterItem:
    """The admitted item ``item_id`` of ``department`` (a Department or its id), or
    ``NotAdmitted`` saying the work is not on the grid matters list. Call it before sending
    any task, form or inspection to grids."""
    department_id = getattr(department, "pk", department)
    day = on or timezone.localdate()
    item = MatterItem.objects.filter(pk=_as_int(item_id)).select_related("department").first()
    if item is None:
        reason = _("no such item")
    elif item.department_id != department_id:
        reason = _("it is another department's item")
    elif item.status not in ON_LIST:
        reason = _("it is %(status)s") % {"status": item.get_status_display()}
    elif item.effective_from and item.effective_from > day:
        reason = _("it takes effect on %(date)s") % {"date": item.effective_from.isoformat()}
    else:
        return item
    raise NotAdmitted(
        _("Refused: this work is not on the admitted grid matters list (%(list)s) — "
          "%(reason)s. Apply for the matter's admission first.")
        % {"list": LIST_NAME, "reason": reason}, code="not_admitted")


def _as_int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
