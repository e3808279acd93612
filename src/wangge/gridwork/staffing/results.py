"""Grid workers' results from grid work — 网格员工作成效 — for ``evaluation.counts``.

Only outcomes count, never the volume of records: targets settled by their due day out of
the targets due, and key-care persons left past their visit interval. A photo, a form or a
record made for its own sake moves nothing here.

* ``targets_due`` — task targets due in the period (``due_on`` inside it) assigned to the
  worker, or, unassigned, lying in her grid;
* ``targets_on_time`` — of those, completed or reported impossible (无法完成, with a reason)
  on or before the due day;
* ``care_persons`` — (person, tag) pairs with a visit interval in her grid, tagged by the end
  of the period;
* ``visits_overdue`` — of those, overdue at the end of the period (or today, if sooner): the
  last visit that counts (not "not at home") plus the interval, or the tag's ``since`` day
  for a person never visited, is before that day — the rule of the worker's day list.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.db.models import Count, F, Max, OuterRef, Q, Subquery
from django.utils import timezone

from wangge.accounts.models import User
from wangge.registry.models import PersonTag

from ..models import COUNTS_AS_VISIT, TargetStatus, TaskTarget, Visit

NAMES = ("targets_due", "targets_on_time", "care_persons", "visits_overdue")


def _day_end(day: date) -> datetime:
    tz = timezone.get_current_timezone()
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min), tz)


def worker_results(ids: Iterable[int], first: date, last: date) -> dict[int, dict[str, int]]:
    """The counts of ``NAMES`` for each worker id, in the period [first, last]."""
    ids = list(ids)
    out = {pk: dict.fromkeys(NAMES, 0) for pk in ids}
    if not ids:
        return out
    grid_of = dict(User.objects.filter(pk__in=ids).values_list("pk", "region_id"))
    workers_in = defaultdict(list)
    for pk, grid in grid_of.items():
        workers_in[grid].append(pk)
    grids = [g for g in workers_in if g is not None]
    _targets(out, ids, grids, workers_in, first, last)
    _visits(out, grids, workers_in, first, last)
    return out


def _targets(out, ids, grids, workers_in, first: date, last: date) -> None:
    settled = Q(status__in=(TargetStatus.DONE, TargetStatus.UNABLE),
                done_at__date__lte=F("due_on"))
    rows = (TaskTarget.objects.filter(due_on__gte=first, due_on__lte=last)
            .filter(Q(assignee_id__in=ids) | Q(assignee__isnull=True, region_id__in=grids))
            .values("assignee_id", "region_id")
            .annotate(due=Count("pk"), on_time=Count("pk", filter=settled)).order_by())
    for r in rows:
        owners = [r["assignee_id"]] if r["assignee_id"] else workers_in.get(r["region_id"], [])
        for pk in owners:
            if pk in out:
                out[pk]["targets_due"] += r["due"]
                out[pk]["targets_on_time"] += r["on_time"]


def _visits(out, grids, workers_in, first: date, last: date) -> None:
    day = min(last, timezone.localdate())
    cutoff = _day_end(day)
    last_visit = (Visit.objects.filter(person_id=OuterRef("person_id"), tag_id=OuterRef("tag_id"),
                                       outcome__in=COUNTS_AS_VISIT, visited_at__lt=cutoff)
                  .values("person_id", "tag_id").annotate(last=Max("visited_at"))
                  .values("last"))
    pairs = (PersonTag.objects.filter(tag__visit_interval_days__isnull=False,
                                      person__region_id__in=grids, since__lte=day)
             .annotate(last=Subquery(last_visit))
             .values_list("person__region_id", "since", "tag__visit_interval_days", "last"))
    for grid, since, interval, visited in pairs:
        due = (timezone.localtime(visited).date() + timedelta(days=interval) if visited
               else since)
        for pk in workers_in.get(grid, []):
            out[pk]["care_persons"] += 1
            if due < day:
                out[pk]["visits_overdue"] += 1
