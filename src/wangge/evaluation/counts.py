"""The counts behind the indicators, for units and a period — 指标口径数据.

Region nodes and departments read the figures' tallies (a handful of rows per node, plus the
journal not yet folded): instant at any level. ``recounted`` gives the same counts from the
raw timeline (the figures' independent recount), to check one against the other. A grid
worker's counts come from her own timeline events and the cases she reported, directly: a
worker's few hundred events a month need no tally.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.db.models import Q, Sum
from django.utils import timezone

from wangge.cases.models import CaseEvent
from wangge.figures.fold import Ancestors, keys_for
from wangge.figures.measures import FLOW_NAMES, FLOWS
from wangge.figures.models import FigureDelta, FlowTally, Grain, period_q
from wangge.figures.recount import flow_aggregates, recount
from wangge.gridwork.staffing.results import worker_results
from wangge.regions.models import Region
from wangge.regions.tree import subtree_q

Key = tuple[int, str]  # (node id, dim): where a unit's figures are kept

# A grid worker's counts: what happened to the cases she found (by the case's reporter),
# her own verifications (by the event's actor), and the results of her grid work (targets
# settled on time, key-care persons visited in time: ``gridwork.staffing.results``). Nothing
# counts records for their own sake.
WORKER_FOUND = ("reported", "discarded", "self_handled", "closed", "rated", "satisfied",
                "rating_sum")
WORKER_OWN = ("verified", "reworked", "checked_late")


def _zero() -> dict[str, int]:
    return dict.fromkeys(FLOW_NAMES, 0)


def from_tallies(keys: Iterable[Key], first: date, last: date) -> dict[Key, dict[str, int]]:
    """Flows in the period for each (node, dim), from the tallies and the unfolded journal."""
    keys = set(keys)
    out = {k: _zero() for k in keys}
    if not keys:
        return out
    nodes = {n for n, _ in keys}
    dims = {d for _, d in keys}
    sums = {name: Sum(name) for name in FLOW_NAMES}
    rows = (FlowTally.objects.filter(node_id__in=nodes, dim__in=dims)
            .filter(period_q(first, last)).values("node_id", "dim").annotate(**sums).order_by())
    for row in rows:
        key = (row["node_id"], row["dim"])
        if key in out:
            out[key] = {name: row[name] or 0 for name in FLOW_NAMES}
    paths = Q()
    for path in Region.objects.filter(pk__in=nodes).values_list("path", flat=True):
        paths |= subtree_q(path, "region_path")
    ancestors = Ancestors()
    pending = FigureDelta.objects.filter(paths).exclude(flow="").filter(day__gte=first,
                                                                         day__lte=last)
    for delta in pending:
        for key in keys_for(ancestors.of(delta.region_path), delta.category_id, delta.source,
                            delta.department_id):
            if key in out:
                out[key][delta.flow] += delta.amount
    return out


def recounted(keys: Iterable[Key], first: date, last: date) -> dict[Key, dict[str, int]]:
    """The same counts from the raw timeline rows (``figures.recount``), for checking."""
    keys = set(keys)
    out = {k: _zero() for k in keys}
    if not keys:
        return out
    within = Q()
    for path in Region.objects.filter(pk__in={n for n, _ in keys}).values_list("path",
                                                                               flat=True):
        within |= subtree_q(path, "region_path")
    flows, _ = recount(within)
    for (node, dim, grain, day), counts in flows.items():
        if (node, dim) in out and grain == Grain.DAY and first <= day <= last:
            for name, n in counts.items():
                out[(node, dim)][name] += n
    return out


def period_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The period as [local midnight of ``first``, local midnight after ``last``)."""
    tz = timezone.get_current_timezone()
    return (timezone.make_aware(datetime.combine(first, time.min), tz),
            timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min), tz))


def for_workers(ids: Iterable[int], first: date, last: date) -> dict[int, dict[str, int]]:
    """Each grid worker's counts in the period (see ``WORKER_FOUND`` and ``WORKER_OWN``)."""
    ids = list(ids)
    out: dict[int, dict[str, int]] = defaultdict(_zero)
    if not ids:
        return {}
    start, end = period_bounds(first, last)
    events = CaseEvent.objects.filter(at__gte=start, at__lt=end)
    for names, by in ((WORKER_FOUND, "case__reporter_id"), (WORKER_OWN, "actor_id")):
        flows = [f for f in FLOWS if f.name in names]
        actions = sorted({a for f in flows for a in f.actions})
        rows = (events.filter(**{f"{by}__in": ids}, action__in=actions).values(by)
                .annotate(**flow_aggregates(flows)).order_by())
        for row in rows:
            for name in names:
                out[row[by]][name] += row[name] or 0
    for pk, counts in worker_results(ids, first, last).items():
        out[pk].update(counts)
    return {pk: out[pk] for pk in ids}
