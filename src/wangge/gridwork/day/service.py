"""The grid worker's day — 网格员工作台: what waits for her today, gathered in one place.

Today's open targets (from the tasks service), the collection forms' persons still to answer
(采集表, from the catalogue's fill service), the visits due or overdue, the fixes waiting
for her verification (the cases app's own query), her patrols and whatever the phone sent
that was not accepted. Read-only: every change goes through ``sync`` (or the service it
calls), so a change made online and one made offline take the same path.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import F, QuerySet
from django.utils import timezone

from wangge.accounts.permissions import has_permission
from wangge.catalog.fields import get_field
from wangge.catalog.models import CollectionForm, FormTarget
from wangge.privacy.errors import InvalidValue

from ..models import Patrol, SyncReceipt, Task, TaskTarget
from ..visits import service as visits
from . import patrols, sync

# Every target is answered on the day page itself, so it can be done without signal; each
# form stays folded under its target until tapped, so a list of a hundred stays short.
TARGETS_SHOWN = 200
# Form targets shown on the page (the rest on the catalogue's own to-do list).
FORM_TARGETS_SHOWN = 100
CASES_SHOWN = 30
# Input types for the inline answer, by catalogue field kind.
INPUT_BY_KIND = {"text": "text", "date": "date", "int": "number", "float": "number"}


@dataclass(frozen=True)
class QuickField:
    """One input of an inline answer: the catalogue field and how to ask for it."""

    code: str
    label: str
    input: str  # text | date | number | select
    choices: tuple[tuple[str, str], ...] = ()


@dataclass
class TaskGroup:
    """One task's open targets for the worker."""

    task: Task
    targets: list[TaskTarget] = field(default_factory=list)
    quick: list[QuickField] | None = None  # None: personal fields, open the target page


@dataclass(frozen=True)
class FormItem:
    """One person a collection form asks about, as the day page shows it (masked)."""

    target: FormTarget
    label: str  # the masked name and the grid, as the form's own to-do list shows them
    quick: list[QuickField] | None  # None: a protected field is asked, open its own page


@dataclass
class FormGroup:
    """One collection form's open targets for the worker."""

    form: CollectionForm
    items: list[FormItem] = field(default_factory=list)


@dataclass
class Day:
    today: datetime.date
    groups: list[TaskGroup]
    targets_total: int
    visits: list[visits.DueVisit]
    cases: list
    cases_total: int
    patrols: list[Patrol]
    open_patrol: Patrol | None
    problems: list[SyncReceipt]
    categories: list
    form_groups: list[FormGroup] = field(default_factory=list)
    forms_total: int = 0

    @property
    def targets_shown(self) -> int:
        return sum(len(g.targets) for g in self.groups)

    @property
    def forms_shown(self) -> int:
        return sum(len(g.items) for g in self.form_groups)

    @property
    def overdue_visits(self) -> int:
        return sum(1 for v in self.visits if v.overdue)


def quick_fields(codes: list[str]) -> list[QuickField] | None:
    """The inline inputs for a task's fields, or None when one is personal (protected
    values are asked on the target's page, never kept on a phone)."""
    out = []
    for code in codes:
        try:
            spec = get_field(code)
        except InvalidValue:
            return None
        if spec.protected_kind:
            return None
        if spec.kind == "choice":
            out.append(QuickField(code, spec.label, "select", tuple(spec.choices.items())))
        else:
            out.append(QuickField(code, spec.label, INPUT_BY_KIND.get(spec.kind, "text")))
    return out


def open_targets(user) -> QuerySet[TaskTarget]:
    """The worker's pending targets of launched tasks (the tasks service decides which)."""
    from wangge.gridwork.tasks import service as tasks

    return tasks.open_targets(user)


def grouped_targets(user) -> tuple[list[TaskGroup], int]:
    """Open targets by task, soonest due first, at most ``TARGETS_SHOWN`` of them."""
    qs = open_targets(user).select_related("task").order_by(
        F("due_on").asc(nulls_last=True), "task_id", "region_path", "pk")
    total = qs.count()
    groups: dict[int, TaskGroup] = {}
    for target in qs[:TARGETS_SHOWN]:
        group = groups.get(target.task_id)
        if group is None:
            group = groups[target.task_id] = TaskGroup(
                task=target.task, quick=quick_fields(list(target.task.fields or [])))
        group.targets.append(target)
    return list(groups.values()), total


def form_targets(user) -> tuple[list[FormGroup], int]:
    """The worker's unanswered targets of issued forms (the catalogue's ``fill.todo``), by
    form, soonest due first, at most ``FORM_TARGETS_SHOWN``; each with the inline inputs
    for what it asks, or none when a protected field is asked (answered on its own page,
    so such values never rest on a phone)."""
    from wangge.catalog.collection import fill

    if not has_permission(user, fill.FILL):
        return [], 0
    qs = fill.todo(user).filter(answered_at__isnull=True)
    total = qs.count()
    groups: dict[int, FormGroup] = {}
    for target in qs[:FORM_TARGETS_SHOWN]:
        group = groups.get(target.form_id)
        if group is None:
            group = groups[target.form_id] = FormGroup(form=target.form)
        label = f"{target.person.name_masked or '—'} · {target.region.name}"
        group.items.append(FormItem(target=target, label=label,
                                    quick=quick_fields(list(target.asked or []))))
    return list(groups.values()), total


def cases_to_verify(user) -> QuerySet:
    """Fixes waiting for verification in the user's area (the cases app's list), other
    than her own on-the-spot fixes (someone else verifies those)."""
    from wangge.cases.services import CaseFilters, list_cases
    from wangge.cases.workflow import BY_ACTION, State

    if user.role not in BY_ACTION["verify"].roles:
        return list_cases(user, CaseFilters()).none()
    return (list_cases(user, CaseFilters(state=State.HANDLED))
            .exclude(reporter=user, self_handled=True)
            .order_by(F("due_at").asc(nulls_last=True), "-created_at"))


def report_categories() -> list:
    """Active categories a quick report may name (leaves, and parents without children)."""
    from wangge.cases.services import active_categories

    rows = list(active_categories().order_by("sort", "code"))
    parents = {c.parent_id for c in rows if c.parent_id is not None}
    return [c for c in rows if c.parent_id is not None or c.pk not in parents]


def today(user, on: datetime.date | None = None) -> Day:
    """Everything the day page shows for ``user``."""
    on = on or timezone.localdate()
    groups, total = grouped_targets(user)
    form_groups, forms_total = form_targets(user)
    cases = cases_to_verify(user)
    recent = list(patrols.recent(user))
    return Day(
        today=on, groups=groups, targets_total=total, visits=visits.visits_due(user, on),
        cases=list(cases.select_related("category")[:CASES_SHOWN]), cases_total=cases.count(),
        patrols=recent, open_patrol=next((p for p in recent if p.ended_at is None), None),
        problems=list(sync.open_problems(user)[:50]),
        categories=report_categories() if has_permission(user, "cases.report") else [],
        form_groups=form_groups, forms_total=forms_total)
