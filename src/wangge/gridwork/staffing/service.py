"""Workload and staffing — 工作量统计与网格员配置: what grid workers did, per worker and per
grid, and how many workers each grid and community needs (``norms`` declares the model).

Work is counted where it was done and by whom:

* per worker, by the actor: cases she reported (发现上报), fixed on the spot (自处置) and
  verified or sent back (核查), task targets she completed or found impossible, visits she
  made, her patrol hours;
* per grid, by where the work lies: the same kinds of work by grid workers on cases, targets,
  visits and patrols located in the grid — the grid's demand, whoever met it.

Every figure is one GROUP BY query over the node's subtree (no query per worker or grid), and
every table is read through ``accounts.scope`` so a community sees only its own grids.
"""

from __future__ import annotations

import calendar
import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils.translation import gettext as _

from wangge.accounts.models import User
from wangge.accounts.roles import Role
from wangge.accounts.scope import visible_to
from wangge.cases.models import Case, CaseEvent
from wangge.core.refusals import Invalid, NotFound, require
from wangge.evaluation.counts import period_bounds
from wangge.figures.service import home_node, parse_period
from wangge.regions.models import Level, Region
from wangge.regions.tree import subtree_q
from wangge.registry.models import Household

from ..models import Patrol, TargetStatus, TaskTarget, Visit
from . import norms

WORK_KEYS = tuple(norms.MINUTES)  # the counted kinds of work, in column order
# Case actions that are a grid worker's work on a case, by the workload column they feed.
CASE_ACTIONS: dict[str, tuple[str, ...]] = {
    "cases_found": ("report",),
    "fixed_on_spot": ("self_handle",),
    "verifications": ("verify", "rework"),
}
MAX_GRIDS_ON_MAP = 3000


# -- period and node ------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    first: date
    last: date
    month: str = ""  # "2026-05" when picked as a month

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def resolve_period(start=None, end=None, month: str | None = None) -> Period:
    """A calendar month ("YYYY-MM"), or start/end days; by default the last 30 days."""
    if month:
        try:
            year, mon = (int(p) for p in str(month).split("-"))
            first = date(year, mon, 1)
        except ValueError:
            raise Invalid(_("The month is not valid (YYYY-MM)."), field="month") from None
        return Period(first, date(year, mon, calendar.monthrange(year, mon)[1]), month)
    try:
        first, last = parse_period(start, end)
    except ValidationError as exc:
        name, messages = next(iter(exc.message_dict.items()))
        raise Invalid(_("The period is not valid: %(why)s") % {"why": messages[0]},
                      field=name) from None
    return Period(first, last)


def resolve_node(user, code: str | None = None, token=None) -> Region:
    """The node asked for (in the user's subtree, else NotFound), or the user's own node."""
    require(user, "gridwork.staffing", token)
    if not code:
        try:
            return home_node(user)
        except ValidationError:
            raise NotFound(_("There are no regions yet.")) from None
    node = visible_to(Region, user).filter(code=code).first()
    if node is None:
        raise NotFound(_("No area with code %(code)s in your area.") % {"code": code})
    return node


# -- rows -----------------------------------------------------------------------------------

@dataclass
class WorkRow:
    """One worker's or one grid's figures for the period."""

    key: str
    name: str
    where: str = ""
    households: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WORK_KEYS, 0))
    patrol_hours: float = 0.0
    patrols: int = 0

    @property
    def hours(self) -> float:
        return norms.work_hours(self.counts, self.patrol_hours)

    @property
    def cases_handled(self) -> int:
        """Handled by the worker: fixed on the spot and verifications done."""
        return self.counts["fixed_on_spot"] + self.counts["verifications"]

    def as_json(self) -> dict:
        return {"key": self.key, "name": self.name, "where": self.where,
                "households": self.households, **self.counts,
                "cases_handled": self.cases_handled, "patrols": self.patrols,
                "patrol_hours": round(self.patrol_hours, 2), "hours": round(self.hours, 2)}


@dataclass
class GridRow(WorkRow):
    """A grid with its staffing figures (``norms``)."""

    kind: str = ""
    workers: int = 0
    days: int = 30
    households_declared: bool = False
    community_id: int = 0
    pk: int = 0

    @property
    def needed(self) -> float:
        return norms.needed(self.households, self.hours, self.days, self.kind)

    @property
    def load(self) -> float | None:
        """Needed ÷ actual workers; None when the grid has no worker."""
        return self.needed / self.workers if self.workers else None

    @property
    def status(self) -> str:
        return norms.load_status(self.load)

    def as_json(self) -> dict:
        load = self.load
        return {**super().as_json(), "kind": self.kind, "workers": self.workers,
                "households_declared": self.households_declared,
                "needed": round(self.needed, 2),
                "load": None if load is None else round(load, 2), "status": self.status}


@dataclass
class CommunityRow:
    key: str
    name: str
    grids: list[GridRow]
    workers: int  # grid workers bound in the community, floating ones included
    days: int

    @property
    def households(self) -> int:
        return sum(g.households for g in self.grids)

    @property
    def hours(self) -> float:
        return sum(g.hours for g in self.grids)

    @property
    def needed(self) -> int:
        """max(Σ households ÷ norm of each grid's kind, hours ÷ capacity), rounded up."""
        by_households = sum(norms.needed(g.households, 0, self.days, g.kind) for g in self.grids)
        by_hours = self.hours / norms.capacity_hours(self.days)
        return math.ceil(round(max(by_households, by_hours), 6))

    @property
    def gap(self) -> int:
        return self.needed - self.workers

    def as_json(self) -> dict:
        statuses = defaultdict(int)
        for g in self.grids:
            statuses[g.status] += 1
        return {"key": self.key, "name": self.name, "grids": len(self.grids),
                "households": self.households, "hours": round(self.hours, 2),
                "needed": self.needed, "workers": self.workers, "gap": self.gap,
                "overloaded": statuses["overloaded"], "light": statuses["light"],
                "no_worker": statuses["no_worker"]}


# -- the queries ----------------------------------------------------------------------------

def _case_work(events, by: str) -> dict[int, dict[str, int]]:
    """Grid workers' case work grouped by ``by`` (the actor, or the case's grid)."""
    aggregates = {key: Count("pk", filter=Q(action__in=actions))
                  for key, actions in CASE_ACTIONS.items()}
    actions = [a for acts in CASE_ACTIONS.values() for a in acts]
    rows = (events.filter(action__in=actions, actor_role=Role.GRID_WORKER)
            .values(by).annotate(**aggregates).order_by())
    return {r[by]: {k: r[k] for k in CASE_ACTIONS} for r in rows if r[by] is not None}


def _target_work(targets, by: str) -> dict[int, dict[str, int]]:
    rows = (targets.filter(status__in=(TargetStatus.DONE, TargetStatus.UNABLE))
            .values(by).annotate(done=Count("pk", filter=Q(status=TargetStatus.DONE)),
                                 unable=Count("pk", filter=Q(status=TargetStatus.UNABLE)))
            .order_by())
    return {r[by]: {"targets_done": r["done"], "targets_unable": r["unable"]} for r in rows
            if r[by] is not None}


def _visit_work(visits, by: str) -> dict[int, dict[str, int]]:
    rows = visits.values(by).annotate(n=Count("pk")).order_by()
    return {r[by]: {"visits": r["n"]} for r in rows}


def _patrols(patrols, by: str) -> dict[int, tuple[int, float]]:
    """(patrols, hours) of ended patrols; a patrol not ended yet counts no time."""
    length = ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())
    rows = (patrols.filter(ended_at__isnull=False, ended_at__gt=F("started_at"))
            .values(by).annotate(n=Count("pk"), spent=Sum(length)).order_by())
    out = {}
    for r in rows:
        spent = r["spent"]
        if isinstance(spent, int | float):  # a backend answering in microseconds
            spent = timedelta(microseconds=spent)
        out[r[by]] = (r["n"], (spent or timedelta()).total_seconds() / 3600)
    return out


@dataclass
class Sources:
    """The period's rows under the node, each read through the user's scope."""

    events: object
    targets: object
    visits: object
    patrols: object


def _sources(user, node: Region, period: Period) -> Sources:
    start, end = period_bounds(period.first, period.last)
    cases = visible_to(Case, user).filter(subtree_q(node.path, "region_path"))
    return Sources(
        events=CaseEvent.objects.filter(at__gte=start, at__lt=end, case__in=cases),
        targets=visible_to(TaskTarget, user).filter(subtree_q(node.path, "region_path"),
                                                    done_at__gte=start, done_at__lt=end),
        visits=visible_to(Visit, user).filter(subtree_q(node.path, "region_path"),
                                              visited_at__gte=start, visited_at__lt=end),
        patrols=visible_to(Patrol, user).filter(subtree_q(node.path, "region_path"),
                                                started_at__gte=start, started_at__lt=end),
    )


def _fill(rows: dict[int, WorkRow], src: Sources, by: dict[str, str]) -> None:
    """Add each kind of work to the rows, grouped by the field ``by`` names per source."""
    for part in (_case_work(src.events, by["events"]), _target_work(src.targets, by["targets"]),
                 _visit_work(src.visits, by["visits"])):
        for pk, counts in part.items():
            if pk in rows:
                rows[pk].counts.update(counts)
    for pk, (n, hours) in _patrols(src.patrols, by["patrols"]).items():
        if pk in rows:
            rows[pk].patrols, rows[pk].patrol_hours = n, hours


def _grid_households(grids: list[Region]) -> dict[int, tuple[int, bool]]:
    """Households per grid: the registry's count, or the grid's declared ``households``
    attribute while the registry holds none there (declared: True)."""
    ids = [g.pk for g in grids]
    counted = dict(Household.objects.filter(region_id__in=ids).values("region_id")
                   .annotate(n=Count("pk")).order_by().values_list("region_id", "n"))
    out = {}
    for g in grids:
        if counted.get(g.pk):
            out[g.pk] = (counted[g.pk], False)
        else:
            declared = (g.attributes or {}).get("households")
            out[g.pk] = (int(declared) if isinstance(declared, int | float) else 0, True)
    return out


def _grids(user, node: Region) -> list[Region]:
    qs = visible_to(Region, user).filter(subtree_q(node.path), level=Level.GRID)
    return list(qs.select_related("parent").order_by("code"))


def _workers(user, node: Region):
    return (visible_to(User, user).filter(subtree_q(node.path, "region__path"),
                                          role=Role.GRID_WORKER, is_active=True)
            .select_related("region").order_by("region__code", "username"))


@dataclass
class Workload:
    node: Region
    period: Period
    workers: list[WorkRow]
    grids: list[GridRow]

    def as_json(self) -> dict:
        return {"node": {"code": self.node.code, "name": self.node.name,
                         "level": self.node.level},
                "period": {"start": self.period.first.isoformat(),
                           "end": self.period.last.isoformat(), "days": self.period.days},
                "capacity_hours": round(norms.capacity_hours(self.period.days), 2),
                "workers": [w.as_json() for w in self.workers],
                "grids": [g.as_json() for g in self.grids]}


def workload(user, node: str | None = None, *, start=None, end=None, month=None,
             token=None) -> Workload:
    """Each grid worker's and each grid's work in the period, inside the node."""
    region = resolve_node(user, node, token)
    period = resolve_period(start, end, month)
    src = _sources(user, region, period)
    grids = _grids(user, region)
    if len(grids) > MAX_GRIDS_ON_MAP:
        raise Invalid(_("Too many grids here (%(n)d); choose a smaller area.")
                      % {"n": len(grids)}, field="node")
    households = _grid_households(grids)
    workers = list(_workers(user, region))
    per_grid = defaultdict(int)
    for w in workers:
        per_grid[w.region_id] += 1
    grid_rows = {g.pk: GridRow(
        key=g.code, name=g.name, where=g.parent.name if g.parent_id else "", pk=g.pk,
        households=households[g.pk][0], households_declared=households[g.pk][1],
        kind=(g.attributes or {}).get("grid_type") or norms.DEFAULT_KIND,
        workers=per_grid[g.pk], days=period.days, community_id=g.parent_id or 0)
        for g in grids}
    _fill(grid_rows, src, {"events": "case__region_id", "targets": "region_id",
                           "visits": "region_id", "patrols": "region_id"})
    worker_rows = {w.pk: WorkRow(key=w.username, name=w.label, where=w.region.name,
                                 households=households.get(w.region_id, (0, True))[0])
                   for w in workers}
    _fill(worker_rows, src, {"events": "actor_id", "targets": "done_by_id",
                             "visits": "by_id", "patrols": "worker_id"})
    return Workload(region, period, list(worker_rows.values()), list(grid_rows.values()))


# -- staffing -------------------------------------------------------------------------------

@dataclass
class Staffing:
    node: Region
    period: Period
    communities: list[CommunityRow]
    grids: list[GridRow]
    geometry: dict[int, dict]

    def as_json(self) -> dict:
        return {"node": {"code": self.node.code, "name": self.node.name},
                "period": {"start": self.period.first.isoformat(),
                           "end": self.period.last.isoformat()},
                "model": model_json(),
                "communities": [c.as_json() for c in self.communities],
                "grids": [g.as_json() for g in self.grids]}

    def feature_collection(self) -> dict:
        """The grids as GeoJSON, with their staffing figures, for the map."""
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": self.geometry[g.pk],
             "properties": {"name": g.name, **g.as_json()}}
            for g in self.grids if self.geometry.get(g.pk)]}


def model_json() -> dict:
    """The staffing model's table, as the pages and the API show it."""
    return {"minutes": norms.MINUTES, "hours_per_month": norms.HOURS_PER_MONTH,
            "thresholds": norms.THRESHOLDS,
            "norms": {k: {"households": n.households, "low": n.low, "high": n.high,
                          "zh": n.zh} for k, n in norms.NORMS.items()}}


def staffing(user, node: str | None = None, *, start=None, end=None, month=None,
             token=None) -> Staffing:
    """Needed against actual workers per community; every grid's load, inside the node."""
    load = workload(user, node, start=start, end=end, month=month, token=token)
    region = load.node
    if region.level > Level.COMMUNITY:
        raise Invalid(_("Choose a community or a larger area: a grid has no communities."),
                      field="node")
    communities = list(visible_to(Region, user).filter(subtree_q(region.path),
                                                       level=Level.COMMUNITY).order_by("code"))
    in_grids = dict(_workers(user, region).filter(region__level=Level.GRID)
                    .values("region__parent_id")
                    .annotate(n=Count("pk")).order_by()
                    .values_list("region__parent_id", "n"))
    at_community = dict(_workers(user, region).filter(region__level=Level.COMMUNITY)
               .values("region_id").annotate(n=Count("pk")).order_by()
               .values_list("region_id", "n"))
    by_community = defaultdict(list)
    for g in load.grids:
        by_community[g.community_id].append(g)
    rows = [CommunityRow(c.code, c.name, by_community[c.pk],
                         in_grids.get(c.pk, 0) + at_community.get(c.pk, 0), load.period.days)
            for c in communities]
    shapes = dict(Region.objects.filter(pk__in=[g.pk for g in load.grids])
                  .values_list("pk", "geometry"))
    return Staffing(region, load.period, rows, load.grids, shapes)


# -- CSV ------------------------------------------------------------------------------------

def _columns() -> list[tuple[str, str]]:
    return [("key", _("code")), ("name", _("name")), ("where", _("grid")),
            ("households", _("households")), ("cases_found", _("cases found")),
            ("fixed_on_spot", _("fixed on the spot")), ("verifications", _("verifications")),
            ("cases_handled", _("cases handled")), ("targets_done", _("task targets done")),
            ("targets_unable", _("targets not possible")), ("visits", _("visits")),
            ("patrols", _("patrols")), ("patrol_hours", _("patrol hours")),
            ("hours", _("workload hours"))]


def to_csv(load: Workload, which: str) -> str:
    """The worker table ("workers") or the grid table ("grids") as CSV (UTF-8 with BOM, so
    spreadsheet programs read the Chinese names)."""
    if which not in ("workers", "grids"):
        raise Invalid(_("Export workers or grids."), field="csv")
    columns = _columns()
    if which == "grids":
        columns = [c for c in columns if c[0] != "where"] + [
            ("kind", _("grid kind")), ("workers", _("grid workers")),
            ("needed", _("workers needed")), ("load", _("load ratio")),
            ("status", _("load"))]
    rows = load.workers if which == "workers" else load.grids
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([label for _, label in columns])
    for r in rows:
        data = r.as_json()
        writer.writerow(["" if data.get(k) is None else data.get(k) for k, _ in columns])
    return out.getvalue()
