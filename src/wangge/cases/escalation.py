"""Escalation — 超期升级: a case whose current deadline has passed goes one level up the tree.

The first escalation goes from the community that owns the case's grid (社区) to its street
(街道); each later one goes from the node it was last escalated to, to that node's parent. A
case escalates once per deadline step: "already escalated for this step" means an ``escalate``
event in its timeline at or after the step began (``step_started_at``). At the top of the tree
there is nowhere higher; the event is still written (so the case is not retried every pass)
and the people at the top node are told again.

Two workers may run at once and a case must never escalate twice. On PostgreSQL a worker
claims rows with ``SELECT … FOR UPDATE SKIP LOCKED`` inside its transaction, so two workers
take disjoint rows, and re-reads the claimed rows' condition in a new statement, which under
READ COMMITTED sees any escalation another worker committed in between (the claiming
statement's own subquery might not). On SQLite every write transaction begins IMMEDIATE,
holding the database's single write lock from the first read, so the second worker's claim
runs only after the first has committed and sees its events.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from wangge.accounts.models import User
from wangge.accounts.roles import Role
from wangge.audit.context import current_actor
from wangge.audit.services import record
from wangge.core import clock
from wangge.figures import recorder as figures
from wangge.figures.recorder import Facts
from wangge.notifications.services import notify
from wangge.regions.models import Level, Region

from .models import Case, CaseEvent
from .workflow import OPEN_STATES, Step

log = logging.getLogger(__name__)

ESCALATE = "escalate"
# Who is told at the node a case escalates to.
RESPONSIBLE_ROLES = (Role.STAFF, Role.COMMAND)


def escalated_this_step() -> Exists:
    """An ``escalate`` event since the case's current step began (its creation if unset)."""
    return Exists(CaseEvent.objects.filter(
        case=OuterRef("pk"), action=ESCALATE,
        at__gte=Coalesce(OuterRef("step_started_at"), OuterRef("created_at"))))


def overdue_cases(now) -> QuerySet[Case]:
    """Open cases past their current deadline and not yet escalated for this step."""
    return (Case.objects.filter(state__in=[s.value for s in OPEN_STATES], due_at__lt=now)
            .filter(~escalated_this_step()))


@dataclass
class _Pass:
    """What one pass remembers: the time it runs for, people per node, cases that failed."""

    now: object
    responsible: dict[int, list[User]] = field(default_factory=dict)
    failed: set[int] = field(default_factory=set)

    def people_at(self, node: Region) -> list[User]:
        if node.pk not in self.responsible:
            self.responsible[node.pk] = list(User.objects.filter(
                region=node, role__in=RESPONSIBLE_ROLES, is_active=True))
        return self.responsible[node.pk]


def home_node(case: Case) -> Region | None:
    """The node that owns the case before any escalation: its grid's community.

    A case placed at a community or higher (no grid) is owned by that node itself.
    """
    node = case.region
    while node is not None and node.level > Level.COMMUNITY:
        node = node.parent
    return node


def escalate_overdue(now=None, batch: int = 500) -> int:
    """Escalate every overdue case once; returns how many this call escalated.

    Works in transactions of up to ``batch`` cases so a large backlog neither holds locks
    for long nor is lost wholesale on an error; a case that fails is logged and left for the
    next pass.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    run = _Pass(now=now or clock.now())
    total = 0
    while True:
        escalated, claimed = _one_batch(run, batch)
        total += escalated
        if claimed < batch:
            return total


def _claim(run: _Pass, batch: int) -> list[int]:
    qs = overdue_cases(run.now).exclude(pk__in=run.failed).order_by("due_at", "pk")
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True)
    return list(qs.values_list("pk", flat=True)[:batch])


def _one_batch(run: _Pass, batch: int) -> tuple[int, int]:
    escalated = 0
    with transaction.atomic():
        ids = _claim(run, batch)
        if not ids:
            return 0, 0
        # Re-check in a fresh statement (see the module docstring): a case another worker
        # escalated and committed while we waited drops out here.
        cases = list(overdue_cases(run.now).filter(pk__in=ids)
                     .select_related("region__parent__parent", "escalated_to__parent")
                     .order_by("due_at", "pk"))
        for case in cases:
            try:
                with transaction.atomic():
                    _escalate(case, run)
            except Exception:
                log.exception("escalating case %s failed; left for the next pass", case.code)
                run.failed.add(case.pk)
            else:
                escalated += 1
    return escalated, len(ids)


def _step_label(step: str) -> str:
    return str(Step(step).label) if step in Step.values else step


def _escalate(case: Case, run: _Pass) -> None:
    source = case.escalated_to or home_node(case)
    target = source.parent if source is not None else None
    level = case.escalation_level + (1 if target is not None else 0)
    moved = {"escalated_to": target, "escalation_level": level} if target is not None else {}
    Case.objects.filter(pk=case.pk).update(
        **moved, overdue=True, version=F("version") + 1, updated_at=run.now)
    actor = current_actor()
    due = timezone.localtime(case.due_at).strftime("%Y-%m-%d %H:%M")
    overdue_hours = round((run.now - case.due_at).total_seconds() / 3600, 2)
    detail = {"from": source.code if source else "", "to": target.code if target else "",
              "level": level, "step": case.step, "due_at": case.due_at.isoformat(),
              "overdue_hours": overdue_hours}
    # Stored text can't be re-translated later: write it in the deployment's language.
    with translation.override(settings.LANGUAGE_CODE):
        step = _step_label(case.step)
        if target is not None:
            note = _("The %(step)s deadline passed at %(due)s; escalated from %(source)s to "
                     "%(target)s.") % {"step": step, "due": due, "source": source.name,
                                       "target": target.name}
            subject = _("Overdue case %(code)s escalated to %(node)s") % {
                "code": case.code, "node": target.name}
        elif source is not None:
            note = _("The %(step)s deadline passed at %(due)s; %(node)s has no higher level "
                     "to escalate to.") % {"step": step, "due": due, "node": source.name}
            subject = _("Overdue case %(code)s at the top level") % {"code": case.code}
        else:
            note = _("The %(step)s deadline passed at %(due)s; the case has no region, so "
                     "there is no level to escalate to.") % {"step": step, "due": due}
            subject = ""
    event = CaseEvent.objects.create(
        case=case, action=ESCALATE, from_state=case.state, to_state=case.state, actor=None,
        actor_name=actor.name[:150], actor_role=actor.role[:20], note=note, detail=detail,
        at=run.now, lead_department_id=case.lead_department_id)
    figures.record(Facts.of(case), Facts.of(case, overdue=True), [event])
    record("cases.escalate", case, detail=detail)
    told = target or source
    if told is not None:
        notify(run.people_at(told), subject, f"{case.title}\n{note}", case=case)
