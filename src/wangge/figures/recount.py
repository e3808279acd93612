"""Recount the figures from the raw case and timeline rows — 核对, and rebuild them.

The journal and the fold are the fast path; this is the slow, independent one: GROUP BY over
``CaseEvent`` (flows) and ``Case`` (stock), expanded to every node the same way. ``check``
reports every (node, breakdown, day, measure) where the two disagree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Count,
    DateTimeField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models import Case as Case_
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from wangge.cases.models import Case, CaseEvent

from .fold import (
    Ancestors,
    _upsert_flows,
    _upsert_stock,
    aggregate,
    fold_all,
    grains,
    keys_for,
)
from .measures import DURATION_FLOWS, FLOW_NAMES, FLOWS, STEP_STARTERS, STOCK_STATES
from .models import FigureDelta, FlowTally, StockTally
from .recorder import top_category


def flow_aggregates(flows=FLOWS) -> dict:
    """One aggregate per counted or summed flow, for ``.annotate`` over CaseEvent rows (the
    duration flows are summed apart: see ``_durations``)."""
    out = {}
    for flow in flows:
        if flow.duration:
            continue
        where = Q(action__in=flow.actions) & (flow.when_q or Q())
        if flow.value_key:
            out[flow.name] = Sum(Cast(KT(f"detail__{flow.value_key}"), BigIntegerField()),
                                 filter=where)
        else:
            out[flow.name] = Count("id", filter=where)
    return out


def _step_start() -> Subquery:
    """When the step an event ended began: the latest earlier event on the case whose action
    starts that step (``STEP_STARTERS``)."""
    earlier = Q(at__lt=OuterRef("at")) | Q(at=OuterRef("at"), id__lt=OuterRef("id"))
    whens = [When(step=step, then=Subquery(
        CaseEvent.objects.filter(earlier, case_id=OuterRef("case_id"), action__in=actions)
        .order_by("-at", "-id").values("at")[:1])) for step, actions in STEP_STARTERS.items()]
    return Case_(*whens, default=Value(None), output_field=DateTimeField())


def _durations(events, flows: dict, ancestors: Ancestors) -> None:
    """Add the duration flows: each event's seconds since its step began, summed in Python
    from the raw pairs of times (the same whole seconds the recorder takes)."""
    for flow in DURATION_FLOWS:
        rows = (events.filter(Q(action__in=flow.actions) & (flow.when_q or Q()))
                .exclude(step="").annotate(started=_step_start())
                .values_list("case__region_path", "case__category_id", "case__source", "dept",
                             "day", "at", "started"))
        for path, category, source, dept, day, at, started in rows:
            n = max(0, int((at - started).total_seconds())) if started else 0
            if not n:
                continue
            keys = keys_for(ancestors.of(path), top_category(category), source, dept)
            for grain, d in grains(day):
                for node, dim in keys:
                    flows[(node, dim, grain, d)][flow.name] += n


def recount(cases: Q | None = None, department_id: int | None = None) -> tuple[dict, dict]:
    """Flows and stock from raw rows, shaped like ``fold.aggregate``; ``cases`` narrows to
    some cases (a Q on Case), ``department_id`` to one department's work."""
    ancestors = Ancestors()
    actions = sorted({a for f in FLOWS for a in f.actions})
    events = CaseEvent.objects.filter(action__in=actions)
    if cases is not None:
        events = events.filter(case__in=Case.objects.filter(cases))
    events = events.annotate(day=TruncDate("at", tzinfo=timezone.get_current_timezone()),
                             dept=Coalesce("department_id", "lead_department_id"))
    if department_id is not None:
        events = events.filter(dept=department_id)
    counted = [n for n in FLOW_NAMES if n not in {f.name for f in DURATION_FLOWS}]
    rows = (events.values("case__region_path", "case__category_id", "case__source", "dept", "day")
            .annotate(**flow_aggregates()).order_by())
    flows: dict = defaultdict(lambda: defaultdict(int))
    for row in rows:
        keys = keys_for(ancestors.of(row["case__region_path"]),
                        top_category(row["case__category_id"]), row["case__source"], row["dept"])
        for name in counted:
            n = row[name] or 0
            if n:
                for grain, day in grains(row["day"]):
                    for node, dim in keys:
                        flows[(node, dim, grain, day)][name] += n
    _durations(events, flows, ancestors)
    standing = Case.objects.filter(state__in=STOCK_STATES)
    if cases is not None:
        standing = standing.filter(cases)
    if department_id is not None:
        standing = standing.filter(lead_department_id=department_id)
    stock: dict = defaultdict(int)
    for row in (standing.values("region_path", "category_id", "source", "lead_department_id",
                                "state", "overdue").annotate(n=Count("id")).order_by()):
        for node, dim in keys_for(ancestors.of(row["region_path"]),
                                  top_category(row["category_id"]), row["source"],
                                  row["lead_department_id"]):
            stock[(node, dim, row["state"], row["overdue"])] += row["n"]
    return flows, stock


def current() -> tuple[dict, dict]:
    """What the tallies say now, with the journal not yet folded added in."""
    flows, stock = aggregate(FigureDelta.objects.all())
    for row in FlowTally.objects.values("node_id", "dim", "grain", "day", *FLOW_NAMES):
        counts = flows[(row["node_id"], row["dim"], row["grain"], row["day"])]
        for name in FLOW_NAMES:
            counts[name] += row[name]
    for row in StockTally.objects.values("node_id", "dim", "state", "overdue", "count"):
        stock[(row["node_id"], row["dim"], row["state"], row["overdue"])] += row["count"]
    return flows, stock


@dataclass
class CheckReport:
    flow_cells: int = 0
    stock_cells: int = 0
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def _flat_flows(flows: dict) -> dict:
    return {(*key, name): n for key, counts in flows.items()
            for name, n in counts.items() if n}


def check(limit: int = 50) -> CheckReport:
    """Compare the tallies (and journal) with a recount; name up to ``limit`` differences."""
    with transaction.atomic():
        kept_flows, kept_stock = current()
        raw_flows, raw_stock = recount()
    report = CheckReport()
    kept, raw = _flat_flows(kept_flows), _flat_flows(raw_flows)
    report.flow_cells = len(raw)
    for key in sorted(set(kept) | set(raw), key=str):
        if kept.get(key, 0) != raw.get(key, 0):
            node, dim, grain, day, name = key
            span = "day" if grain == "d" else "month"
            report.differences.append(
                f"flow {name} node {node} dim {dim or 'total'} {span} {day}: kept "
                f"{kept.get(key, 0)}, recounted {raw.get(key, 0)}")
    kept_s = {k: v for k, v in kept_stock.items() if v}
    raw_s = {k: v for k, v in raw_stock.items() if v}
    report.stock_cells = len(raw_s)
    for key in sorted(set(kept_s) | set(raw_s), key=str):
        if kept_s.get(key, 0) != raw_s.get(key, 0):
            node, dim, state, overdue = key
            report.differences.append(
                f"stock {state}{' overdue' if overdue else ''} node {node} dim "
                f"{dim or 'total'}: kept {kept_s.get(key, 0)}, recounted {raw_s.get(key, 0)}")
    del report.differences[limit:]
    return report


def rebuild() -> tuple[int, int]:
    """Replace the tallies with a recount; the journal so far is dropped (the recount includes
    it). Intake waits for the few seconds this holds the journal's lock."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {FigureDelta._meta.db_table} IN EXCLUSIVE MODE")
        FigureDelta.objects.all().delete()
        FlowTally.objects.all().delete()
        StockTally.objects.all().delete()
        flows, stock = recount()
        _upsert_flows(flows)
        _upsert_stock(stock)
    return len(flows), len(stock)


__all__ = ["CheckReport", "check", "current", "fold_all", "rebuild", "recount"]
