"""Progress of a task — 任务进度: by grid, community, street, read from kept tallies.

A node's row and its children's rows come from ``TaskTally`` (one row per node, children
found by ``parent_id_hint``), so a street's page of a 500,000-household campaign reads a few
dozen rows. Only at grid level are the targets themselves listed. Overdue needs no count:
every target of a task (or of an inspection's period) has the same due day, so once it has
passed, what is still to do is overdue.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from wangge.core.clock import today
from wangge.core.refusals import NotFound
from wangge.gridwork.models import Task, TaskKind, TaskTally, TaskTarget
from wangge.regions.models import Level, Region

from .launch import period_by_key
from .service import get_task, node_in_task


@dataclass(frozen=True)
class ProgressRow:
    """One node's counts: total, done, could not be done, still to do, overdue."""

    region_id: int
    code: str
    name: str
    level: int
    total: int
    done: int
    unable: int
    overdue: int

    @property
    def pending(self) -> int:
        return max(self.total - self.done - self.unable, 0)

    @property
    def finished(self) -> int:
        return self.done + self.unable

    @property
    def percent(self) -> float:
        """Share of targets finished (done or could not be done), 0–100, one decimal."""
        return round(100.0 * self.finished / self.total, 1) if self.total else 0.0

    @property
    def done_percent(self) -> float:
        return round(100.0 * self.done / self.total, 1) if self.total else 0.0


@dataclass
class Progress:
    """What a progress page shows at one node."""

    task: Task
    period: str
    periods: list[str]
    due_on: datetime.date | None
    node: Region
    row: ProgressRow
    children: list[ProgressRow] = field(default_factory=list)
    path: list[Region] = field(default_factory=list)  # from the task's area down to the node
    targets: list[TaskTarget] | None = None  # at grid level only

    @property
    def is_grid(self) -> bool:
        return self.node.level == Level.GRID


def _due_on(task: Task, period: str) -> datetime.date | None:
    if task.kind == TaskKind.INSPECTION and period:
        return period_by_key(task, period).end
    return task.due_on


def _row(tally: TaskTally | None, region: Region, overdue: bool) -> ProgressRow:
    total, done, unable = (tally.total, tally.done, tally.unable) if tally else (0, 0, 0)
    return ProgressRow(region_id=region.pk, code=region.code, name=region.name,
                       level=region.level, total=total, done=done, unable=unable,
                       overdue=max(total - done - unable, 0) if overdue else 0)


def default_node(user, task: Task) -> Region:
    """The task's area, or the user's own node when it lies deeper inside it."""
    own = getattr(user, "region", None)
    if own is not None and own.path.startswith(task.region_path) and own.pk != task.region_id:
        return own
    return task.region


def progress(user, task, node=None, period: str | None = None, token=None) -> Progress:
    """Progress of ``task`` (a Task or its id) at ``node`` (a Region or id; default
    ``default_node``) for ``period`` (an inspection's latest by default). A node outside the
    task's area or the user's subtree is ``NotFound``."""
    task = get_task(user, task.pk if isinstance(task, Task) else task, token)
    region = (default_node(user, task) if node in (None, "") else
              node_in_task(user, task, node))
    if region.pk != task.region_id:  # the user's node, or one chosen: check it is visible
        region = node_in_task(user, task, region)
    periods = list(task.periods or [])
    if period in (None, ""):
        period = periods[-1] if periods else ""
    elif period not in periods:
        raise NotFound(_("This task has no round %(period)s.") % {"period": period})
    due = _due_on(task, period)
    overdue = due is not None and due < today()
    tallies = TaskTally.objects.filter(task=task, period=period)
    own = tallies.filter(region=region).first()
    children = [
        _row(t, t.region, overdue) for t in
        tallies.filter(parent_id_hint=region.pk).select_related("region")
        .only("total", "done", "unable", "region__code", "region__name", "region__level")
        .order_by("region__code")]
    codes = region.ancestor_codes
    path = [*Region.objects.filter(code__in=codes, level__gte=task.region.level)
            .only("code", "name", "level").order_by("level"), region]
    targets = None
    if region.level == Level.GRID:
        targets = list(TaskTarget.objects.filter(task=task, period=period, region=region)
                       .select_related("assignee", "done_by").order_by("label", "pk"))
    return Progress(task=task, period=period, periods=periods, due_on=due, node=region,
                    row=_row(own, region, overdue), children=children, path=path,
                    targets=targets)
