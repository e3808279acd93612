"""Figures for a node and a period — 一网统管 数据: what leaders at every level read.

Reads the tallies (a handful of rows per day), adds the journal not yet folded, and never
scans the case table — except below ``BREAKDOWN_LEVEL`` with a breakdown filter, where the
node's own few cases are recounted directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q, Sum
from django.utils import timezone

from wangge.accounts.models import Department
from wangge.accounts.permissions import require_permission
from wangge.accounts.roles import Role
from wangge.accounts.scope import get_visible_or_404, visible_to
from wangge.regions.models import Region

from .fold import Ancestors, keys_for
from .measures import BREAKDOWN_LEVEL, FLOW_NAMES, STOCK_STATES, Dim
from .models import FigureDelta, FlowTally, Grain, StockTally, period_q
from .recorder import top_category

MAX_DAYS = 3700  # ten years and a bit: a longer period is a typo


@dataclass(frozen=True)
class Filter:
    """At most one breakdown: a top-level category, a source or a department."""

    kind: str = Dim.TOTAL
    value: object = ""
    label: str = ""

    @property
    def dim(self) -> str:
        return Dim.key(self.kind, self.value)


def parse_period(start: str | date | None, end: str | date | None) -> tuple[date, date]:
    """The period's first and last day (inclusive); the default is the last 30 days."""
    today = timezone.localdate()

    def as_date(value, name: str) -> date | None:
        if value in (None, ""):
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ValidationError({name: f"{value!r} is not a date (YYYY-MM-DD)"}) from None

    last = as_date(end, "end") or today
    first = as_date(start, "start") or last - timedelta(days=29)
    if first > last:
        raise ValidationError({"start": f"the period starts ({first}) after it ends ({last})"})
    if (last - first).days > MAX_DAYS:
        raise ValidationError({"start": f"at most {MAX_DAYS} days in one period"})
    return first, last


def home_node(user) -> Region:
    """Where a user's figures open: their own node, or the top of the tree."""
    if user.region_id is not None:
        return user.region
    top = Region.objects.order_by("level", "code").first()
    if top is None:
        raise ValidationError({"node": "there are no region nodes yet"})
    return top


def resolve_filter(user, *, category: str = "", source: str = "",
                   department: str = "") -> Filter:
    from wangge.cases.models import Category, Source

    given = [name for name, v in (("category", category), ("source", source),
                                  ("department", department)) if v]
    if user.role == Role.HANDLER:
        # A department sees its own work: the filter is its department, whatever was asked.
        if category or source or (department and department != user.department.code):
            raise ValidationError({"department": "a department handler sees the figures of "
                                                 "her own department only"})
        d = user.department
        return Filter(Dim.DEPARTMENT, d.pk, d.name)
    if len(given) > 1:
        raise ValidationError({given[1]: "one breakdown at a time: category, source or "
                                         "department"})
    if category:
        found = Category.objects.filter(code=category).first()
        if found is None:
            raise ValidationError({"category": f"no category {category!r}"})
        top = top_category(found.pk)
        if top != found.pk:
            raise ValidationError({"category": f"{category!r} is a second-level category; "
                                               "figures are kept by top-level category"})
        return Filter(Dim.CATEGORY, top, found.name)
    if source:
        if source not in Source.values:
            raise ValidationError({"source": f"{source!r} is not one of "
                                             f"{', '.join(Source.values)}"})
        return Filter(Dim.SOURCE, source, str(Source(source).label))
    if department:
        found = visible_to(Department, user).filter(code=department).first()
        if found is None:
            raise ValidationError({"department": f"no department {department!r} in your "
                                                 "scope"})
        return Filter(Dim.DEPARTMENT, found.pk, found.name)
    return Filter()


def _pending_matches(delta: FigureDelta, flt: Filter) -> bool:
    if flt.kind == Dim.CATEGORY:
        return delta.category_id == flt.value
    if flt.kind == Dim.SOURCE:
        return delta.source == flt.value
    if flt.kind == Dim.DEPARTMENT:
        return delta.department_id == flt.value
    return True


def _empty_flows() -> dict[str, int]:
    return dict.fromkeys(FLOW_NAMES, 0)


def _empty_stock() -> dict:
    return {"open": 0, "overdue": 0, "by_state": {}}


def _add_stock(stock: dict, state: str, overdue: bool, n: int) -> None:
    stock["open"] += n
    if overdue:
        stock["overdue"] += n
    stock["by_state"][state] = stock["by_state"].get(state, 0) + n


def _from_tallies(nodes: list[Region], flt: Filter, first: date, last: date
                  ) -> tuple[dict, dict, int]:
    ids = [n.pk for n in nodes]
    flows = {pk: _empty_flows() for pk in ids}
    stock = {pk: _empty_stock() for pk in ids}
    sums = {name: Sum(name) for name in FLOW_NAMES}
    rows = (FlowTally.objects.filter(node_id__in=ids, dim=flt.dim)
            .filter(period_q(first, last)).values("node_id").annotate(**sums).order_by())
    for row in rows:
        flows[row["node_id"]] = {name: row[name] or 0 for name in FLOW_NAMES}
    for row in StockTally.objects.filter(node_id__in=ids, dim=flt.dim).exclude(count=0):
        _add_stock(stock[row.node_id], row.state, row.overdue, row.count)
    # The journal not yet folded: few rows, a prefix match on the path index.
    paths = Q()
    for node in nodes:
        paths |= Q(region_path__startswith=node.path)
    wanted = set(ids)
    ancestors = Ancestors()
    pending = 0
    for delta in FigureDelta.objects.filter(paths):
        if not _pending_matches(delta, flt):
            continue
        if delta.flow and not first <= delta.day <= last:
            continue
        pending += 1
        for node, dim in keys_for(ancestors.of(delta.region_path), delta.category_id,
                                  delta.source, delta.department_id):
            if node in wanted and dim == Dim.TOTAL:
                if delta.flow:
                    flows[node][delta.flow] += delta.amount
                else:
                    _add_stock(stock[node], delta.state, delta.overdue, delta.amount)
    return flows, stock, pending


def _from_cases(nodes: list[Region], flt: Filter, first: date, last: date
                ) -> tuple[dict, dict, int]:
    """Below the breakdown level: recount the node's own cases with the filter applied."""
    from .recount import recount

    ids = [n.pk for n in nodes]
    within = Q()
    for node in nodes:
        within |= Q(region_path__startswith=node.path)
    if flt.kind == Dim.CATEGORY:
        within &= Q(category_id=flt.value) | Q(category__parent_id=flt.value)
    elif flt.kind == Dim.SOURCE:
        within &= Q(source=flt.value)
    raw_flows, raw_stock = recount(within, department_id=(
        flt.value if flt.kind == Dim.DEPARTMENT else None))
    flows = {pk: _empty_flows() for pk in ids}
    stock = {pk: _empty_stock() for pk in ids}
    for (node, dim, grain, day), counts in raw_flows.items():
        if node in flows and dim == Dim.TOTAL and grain == Grain.DAY and first <= day <= last:
            for name, n in counts.items():
                flows[node][name] += n
    for (node, dim, state, overdue), n in raw_stock.items():
        if node in stock and dim == Dim.TOTAL and state in STOCK_STATES:
            _add_stock(stock[node], state, overdue, n)
    return flows, stock, 0


def derived(flows: dict[str, int]) -> dict[str, float | None]:
    """Simple ratios everyone asks for at once (the evaluation index has the full set)."""

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    return {
        "satisfaction": ratio(flows["satisfied"], flows["rated"]),
        "average_rating": ratio(flows["rating_sum"], flows["rated"]),
        "closed_on_time_share": ratio(flows["closed_on_time"], flows["closed"]),
    }


def _node_json(node: Region) -> dict:
    return {"code": node.code, "name": node.name, "level": node.level}


def _question(user, code: str | None, start, end, *, category: str, source: str,
              department: str, token) -> tuple[Region, date, date, Filter]:
    """Who may ask, about which node, period and breakdown: the checks every read shares."""
    require_permission(user, "figures.view", token)
    node = get_visible_or_404(Region, user, code=code) if code else home_node(user)
    first, last = parse_period(start, end)
    flt = resolve_filter(user, category=category, source=source, department=department)
    return node, first, last, flt


def summary(user, code: str | None = None, start=None, end=None, *, category: str = "",
            source: str = "", department: str = "", token=None) -> dict:
    """Flows in the period, stock now, for the node and each of its children (drill-down),
    with the path back up (drill-up)."""
    node, first, last, flt = _question(user, code, start, end, category=category,
                                       source=source, department=department, token=token)
    children = list(visible_to(Region, user).filter(parent=node).order_by("code"))
    above = list(visible_to(Region, user).filter(
        code__in=[c for c in node.path.split(".") if c and c != node.code]).order_by("level"))
    return _summarise(node, children, above, flt, first, last)


def node_summary(node: Region, first: date, last: date, flt: Filter | None = None) -> dict:
    """``summary`` as the platform itself reads it — no reader, so no scope: for what the
    system builds once and shows to many (briefings, the public page), each of which filters
    what its readers may see. Never call it with a node a user asked for unchecked."""
    children = list(Region.objects.filter(parent=node).order_by("code"))
    above = list(Region.objects.filter(
        code__in=[c for c in node.path.split(".") if c and c != node.code]).order_by("level"))
    return _summarise(node, children, above, flt or Filter(), first, last)


def top_category_filter(code: str) -> Filter:
    """The filter for one top-level category, by code (a ``node_summary`` breakdown)."""
    from wangge.cases.models import Category

    found = Category.objects.get(code=code, parent__isnull=True)
    return Filter(Dim.CATEGORY, found.pk, found.name)


def _summarise(node: Region, children: list[Region], above: list[Region], flt: Filter,
               first: date, last: date) -> dict:
    nodes = [node, *children]
    if flt.kind != Dim.TOTAL and node.level > BREAKDOWN_LEVEL:
        flows, stock, pending = _from_cases(nodes, flt, first, last)
    else:
        flows, stock, pending = _from_tallies(nodes, flt, first, last)
    for pile in stock.values():
        pile["by_state"] = {k: v for k, v in sorted(pile["by_state"].items()) if v}
    return {
        "node": _node_json(node),
        "up": [_node_json(r) for r in above],
        "period": {"start": first.isoformat(), "end": last.isoformat()},
        "filter": {"kind": flt.kind, "label": flt.label} if flt.kind else None,
        "flows": flows[node.pk],
        "derived": derived(flows[node.pk]),
        "stock": stock[node.pk],
        "children": [{**_node_json(c), "flows": flows[c.pk], "stock": stock[c.pk]}
                     for c in children],
        "unfolded": pending,
    }


TREND_DAYS = 92  # up to a quarter, one point a day; longer periods one point a month


def _daily_from_tallies(node: Region, flt: Filter, first: date, last: date,
                        names: tuple[str, ...]) -> dict[date, dict[str, int]]:
    days: dict[date, dict[str, int]] = {}
    for row in (FlowTally.objects.filter(node_id=node.pk, dim=flt.dim, grain=Grain.DAY,
                                         day__gte=first, day__lte=last).values("day", *names)):
        days[row["day"]] = {name: row[name] or 0 for name in names}
    # The journal not yet folded, as in ``_from_tallies``: each delta under the node counts.
    for delta in FigureDelta.objects.filter(region_path__startswith=node.path,
                                            flow__in=names, day__gte=first, day__lte=last):
        if _pending_matches(delta, flt):
            day = days.setdefault(delta.day, dict.fromkeys(names, 0))
            day[delta.flow] += delta.amount
    return days


def _daily_from_cases(node: Region, flt: Filter, first: date, last: date,
                      names: tuple[str, ...]) -> dict[date, dict[str, int]]:
    from .recount import recount

    within = Q(region_path__startswith=node.path)
    if flt.kind == Dim.CATEGORY:
        within &= Q(category_id=flt.value) | Q(category__parent_id=flt.value)
    elif flt.kind == Dim.SOURCE:
        within &= Q(source=flt.value)
    raw_flows, _ = recount(within, department_id=(
        flt.value if flt.kind == Dim.DEPARTMENT else None))
    days: dict[date, dict[str, int]] = {}
    for (pk, dim, grain, day), counts in raw_flows.items():
        if pk == node.pk and dim == Dim.TOTAL and grain == Grain.DAY and first <= day <= last:
            days[day] = {name: counts.get(name, 0) for name in names}
    return days


def trend(user, code: str | None = None, start=None, end=None, *, category: str = "",
          source: str = "", department: str = "", flows: tuple[str, ...] | None = None,
          token=None) -> dict:
    """The period's flows for one node as a series — 趋势: a point a day (a month when the
    period is longer than ``TREND_DAYS``), every day present, zero when nothing happened.

    Same checks and scope as ``summary``; read from the day tallies plus the unfolded journal.
    """
    node, first, last, flt = _question(user, code, start, end, category=category,
                                       source=source, department=department, token=token)
    names = tuple(flows or FLOW_NAMES)
    unknown = [n for n in names if n not in FLOW_NAMES]
    if unknown:
        raise ValidationError({"flows": f"no flow {unknown[0]!r}; known: "
                                        f"{', '.join(FLOW_NAMES)}"})
    read = _daily_from_cases if flt.kind != Dim.TOTAL and node.level > BREAKDOWN_LEVEL \
        else _daily_from_tallies
    days = read(node, flt, first, last, names)
    monthly = (last - first).days + 1 > TREND_DAYS
    buckets: dict[date, dict[str, int]] = {}
    day = first
    while day <= last:
        key = day.replace(day=1) if monthly else day
        bucket = buckets.setdefault(key, dict.fromkeys(names, 0))
        for name, n in days.get(day, {}).items():
            bucket[name] += n
        day += timedelta(days=1)
    return {
        "node": _node_json(node),
        "period": {"start": first.isoformat(), "end": last.isoformat()},
        "filter": {"kind": flt.kind, "label": flt.label} if flt.kind else None,
        "grain": "month" if monthly else "day",
        "points": [k.isoformat()[:7] if monthly else k.isoformat() for k in buckets],
        "series": {name: [b[name] for b in buckets.values()] for name in names},
    }
