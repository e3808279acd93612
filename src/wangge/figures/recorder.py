"""Journal case changes for the figures — 记账: what a report, a move or an escalation
changes, as ``FigureDelta`` rows written in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from wangge.core import clock
from wangge.core.memo import Snapshot

from .measures import FLOWS_BY_ACTION, STEP_STARTERS, STOCK_STATES
from .models import FigureDelta


def _load_tops() -> dict[int, int]:
    from wangge.cases.models import Category

    return {pk: parent or pk for pk, parent in Category.objects.values_list("id", "parent_id")}


_tops = Snapshot(_load_tops, seconds=30.0)


def top_category(category_id: int) -> int:
    """The top-level category of a (possibly second-level) category."""
    top = _tops.get().get(category_id)
    if top is None:  # created a moment ago in another process
        _tops.clear()
        top = _tops.get().get(category_id, category_id)
    return top


@dataclass(frozen=True)
class Facts:
    """What the figures need to know of a case at one moment."""

    region_id: int
    region_path: str
    category_id: int  # top level
    source: str
    department_id: int | None  # the lead department
    state: str
    overdue: bool

    @classmethod
    def of(cls, case, **changes) -> Facts:
        """The case's facts, with ``changes`` (model field names) applied on top."""
        lead = changes.get("lead_department", getattr(case, "lead_department_id", None))
        if lead is not None and not isinstance(lead, int):
            lead = lead.pk
        return cls(region_id=case.region_id, region_path=case.region_path,
                   category_id=top_category(case.category_id), source=case.source,
                   department_id=lead, state=changes.get("state", case.state),
                   overdue=changes.get("overdue", case.overdue))


def _delta(facts: Facts, day, **fields) -> FigureDelta:
    return FigureDelta(region_id=facts.region_id, region_path=facts.region_path,
                       category_id=facts.category_id, source=facts.source,
                       department_id=fields.pop("department_id", facts.department_id),
                       day=day, **fields)


def stock_deltas(before: Facts | None, after: Facts | None, day) -> list[FigureDelta]:
    """The case leaves one pile and joins another (or none)."""
    if before == after:
        return []
    rows = []
    if before is not None and before.state in STOCK_STATES:
        rows.append(_delta(before, day, state=before.state, overdue=before.overdue, amount=-1))
    if after is not None and after.state in STOCK_STATES:
        rows.append(_delta(after, day, state=after.state, overdue=after.overdue, amount=1))
    return rows


def step_seconds(event) -> int:
    """Whole seconds the step ``event`` ended had run, from the event that started it.

    The engine writes the event with the case as it was read before the move, whose
    ``step_started_at`` is that start: no query. Anything else (an event built elsewhere)
    looks the starting event up in the timeline, as the recount does.
    """
    from wangge.cases.models import CaseEvent

    if not event.step:
        return 0
    started = None
    if CaseEvent.case.is_cached(event) and event.case.step == event.step:
        started = event.case.step_started_at
    if started is None:
        started = (CaseEvent.objects.filter(case_id=event.case_id,
                                            action__in=STEP_STARTERS.get(event.step, ()),
                                            at__lte=event.at).exclude(pk=event.pk)
                   .order_by("-at", "-id").values_list("at", flat=True).first())
    return max(0, int((event.at - started).total_seconds())) if started else 0


def flow_deltas(facts: Facts, event) -> list[FigureDelta]:
    """The flows one timeline event moves, counted against the acting department or, failing
    that, the lead department after the event."""
    flows = FLOWS_BY_ACTION.get(event.action, ())
    if not flows:
        return []
    day = timezone.localdate(event.at)
    department = event.department_id or event.lead_department_id
    rows = []
    for flow in flows:
        if flow.when is not None and not flow.when(event):
            continue
        if flow.duration:
            amount = step_seconds(event)
        elif flow.value is not None:
            amount = flow.value(event)
        else:
            amount = 1
        if amount:
            rows.append(_delta(facts, day, flow=flow.name, amount=amount,
                               department_id=department))
    return rows


def record(before: Facts | None, after: Facts | None, events: Iterable = ()) -> None:
    """Journal a change of the case from ``before`` to ``after`` and its timeline events.

    Call inside the transaction that makes the change: the journal commits or rolls back
    with it, so the figures never count a change that did not happen, nor miss one.
    """
    if not settings.FIGURES_LIVE or (after or before).region_id is None:
        return  # a case placed nowhere (no node) has no figures to count in
    events = list(events)
    day = timezone.localdate(events[0].at) if events else clock.today()
    rows = stock_deltas(before, after, day)
    facts = after or before
    for event in events:
        rows += flow_deltas(facts, event)
    if rows:
        _insert(rows)


_COLUMNS = ("region_id", "region_path", "category_id", "source", "department_id", "day",
            "flow", "state", "overdue", "amount")


def _insert(rows: list[FigureDelta]) -> None:
    """One multi-row INSERT without RETURNING: intake needs no ids back, and saves the
    round trip's worth of work bulk_create would do for them."""
    from django.db import connection

    table = FigureDelta._meta.db_table
    one = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    params = [getattr(r, c) for r in rows for c in _COLUMNS]
    with connection.cursor() as cursor:
        # Names come from the model; every value is a bound parameter.
        cursor.execute(f"INSERT INTO {table} ({', '.join(_COLUMNS)}) "  # noqa: S608
                       f"VALUES {', '.join([one] * len(rows))}", params)


def clear_cache() -> None:
    _tops.clear()


__all__ = ["Facts", "clear_cache", "record", "top_category"]
