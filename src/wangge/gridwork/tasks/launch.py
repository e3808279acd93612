"""Building a task's targets and tallies — 任务下发: set-based, whatever the campaign's size.

``build_targets`` turns a task into one target per household, building, place or grid of its
area with ONE ``INSERT … SELECT`` from the registry tables, joined to each grid's grid worker
(the assignee); ``ON CONFLICT DO NOTHING`` with the unique (task, period, object) constraint
makes a second build add nothing. ``build_tallies`` then counts the targets per grid with one
``GROUP BY`` and sums the grids up the tree in Python, so progress pages read a few rows.

A task too big for a request (``INLINE_LIMIT``) is built by the ``gridwork.launch`` job, one
chunk (a street, usually) per transaction so ``targets_total`` grows for the progress bar.
The ``gridwork.rounds`` job starts each new period of a recurring inspection.
"""

from __future__ import annotations

import datetime
import os
from concurrent.futures import ThreadPoolExecutor

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from wangge.accounts.models import User
from wangge.accounts.roles import Role
from wangge.audit.context import Actor, acting_as
from wangge.audit.services import record
from wangge.core.clock import today
from wangge.gridwork.models import Task, TaskKind, TaskStatus, TaskTally, TaskTarget
from wangge.regions.models import Level, Region
from wangge.regions.tree import subtree_q
from wangge.registry.models import Building, House, Household, Place

from .periods import Period, missed_periods, period_of

# Up to this many estimated targets a launch builds them in the request.
INLINE_LIMIT = 5000
EXPECTED_TTL = 24 * 3600
# A big build forced in the caller (``launch(inline=True)``) runs its chunks on this many
# PostgreSQL connections at once: the foreign-key checks of half a million rows, run at
# each transaction's commit, cost as much as the insert and parallelise with it.
PARALLEL_BUILDS = max(2, min(4, os.cpu_count() or 2))


# -- what a task's targets are, as SQL -------------------------------------------------------


def _source_sql(task: Task) -> tuple[str, str, str, str, str, list, str]:
    """(FROM … JOIN clause, object id, label, grid id, WHERE, its params, path column) for
    the task's target kind. Each source row sits in one grid (``region_id``)."""
    kind = task.target_kind
    filt = task.target_filter or {}
    params: list = []
    if kind == "household":
        sql = f"{Household._meta.db_table} s"
        where = "s.region_id IS NOT NULL"
        usage = filt.get("house_usage")
        if usage:
            sql += f" JOIN {House._meta.db_table} hs ON hs.id = s.house_id"
            where += f" AND hs.usage IN ({', '.join(['%s'] * len(usage))})"
            params += list(usage)
        return sql, "s.id", "s.number", "s.region_id", where, params, "s.region_path"
    if kind == "building":
        return (f"{Building._meta.db_table} s", "s.id", "s.address", "s.region_id",
                "s.region_id IS NOT NULL", params, "s.region_path")
    if kind == "place":
        where = "s.region_id IS NOT NULL"
        kinds = filt.get("place_kinds")
        if kinds:
            where += f" AND s.kind IN ({', '.join(['%s'] * len(kinds))})"
            params += list(kinds)
        return (f"{Place._meta.db_table} s", "s.id", "s.name", "s.region_id", where, params,
                "s.region_path")
    # one target per grid
    return (f"{Region._meta.db_table} s", "s.id", "s.name", "s.id",
            f"s.level = {int(Level.GRID)}", params, "s.path")


def _prefix_sql(column: str, paths: list[str]) -> tuple[str, list]:
    """Rows whose ``column`` lies under any of ``paths``, as the index can serve it: a
    pattern on PostgreSQL (varchar_pattern_ops), a binary range on SQLite (see
    ``regions.tree.subtree_q``)."""
    parts, params = [], []
    for path in paths:
        if connection.vendor == "sqlite":
            parts.append(f"({column} >= %s AND {column} < %s)")
            params += [path, path[:-1] + "/"]
        else:
            parts.append(f"{column} LIKE %s")
            params.append(path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                          + "%")
    return "(" + " OR ".join(parts) + ")", params


def roots_of(task: Task) -> list[str]:
    """The paths the task's targets lie under: its chosen areas, or its whole area."""
    if not task.areas:
        return [task.region_path]
    paths = sorted(Region.objects.filter(pk__in=task.areas).values_list("path", flat=True))
    out: list[str] = []
    for path in paths:  # a chosen grid inside a chosen community counts once
        if not any(path.startswith(kept) for kept in out):
            out.append(path)
    return out


def _due(task: Task, period: Period | None) -> datetime.date | None:
    return period.end if period is not None else task.due_on


def estimate_targets(task: Task, roots: list[str] | None = None) -> int:
    """How many targets building the task would create (one COUNT)."""
    source, _obj, _label, _grid, where, params, path_col = _source_sql(task)
    prefix, prefix_params = _prefix_sql(path_col, roots or roots_of(task))
    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {source} WHERE {where} AND {prefix}",  # noqa: S608
                    [*params, *prefix_params])
        return cur.fetchone()[0]


def build_targets(task: Task, period: str = "", roots: list[str] | None = None) -> int:
    """Create the task's targets (for ``period``) under ``roots`` (default: all of its
    area) with one INSERT … SELECT; returns how many were added (0 when built before)."""
    recurring = task.kind == TaskKind.INSPECTION and period
    due = _due(task, period_by_key(task, period) if recurring else None)
    source, obj, label, grid, where, params, path_col = _source_sql(task)
    prefix, prefix_params = _prefix_sql(path_col, roots or roots_of(task))
    sql = (
        # Tables and columns are this module's; every value is a parameter.
        f"INSERT INTO {TaskTarget._meta.db_table} (task_id, period, object_id, label, "  # noqa: S608
        "region_id, region_path, assignee_id, status, due_on, result, note, idempotency_key, "
        "version) "
        f"SELECT %s, %s, {obj}, {label}, {grid}, {path_col}, w.uid, 'pending', %s, '{{}}', "
        "'', '', 0 "
        f"FROM {source} "
        f"LEFT JOIN (SELECT region_id, MIN(id) AS uid FROM {User._meta.db_table} "
        "WHERE role = %s AND is_active = %s AND region_id IS NOT NULL GROUP BY region_id) w "
        f"ON w.region_id = {grid} "
        f"WHERE {where} AND {prefix} "
        "ON CONFLICT DO NOTHING")
    args = [task.pk, period, due, Role.GRID_WORKER, True, *params, *prefix_params]
    with connection.cursor() as cur:
        cur.execute(sql, args)
        return max(cur.rowcount, 0)


def period_by_key(task: Task, key: str) -> Period:
    """The period ``key`` of the task's recurrence (found from its first day)."""
    if "-W" in key:
        year, week = key.split("-W")
        day = datetime.date.fromisocalendar(int(year), int(week), 1)
    elif "-Q" in key:
        year, q = key.split("-Q")
        day = datetime.date(int(year), 3 * int(q) - 2, 1)
    elif "-" in key:
        year, month = key.split("-")
        day = datetime.date(int(year), int(month), 1)
    else:
        day = datetime.date(int(key), 1, 1)
    return period_of(task.recurrence, day)


def build_tallies(task: Task, period: str = "") -> int:
    """(Re)write the task's tallies for ``period`` from its targets: grid rows by one GROUP
    BY, every node above summed from them up to the task's area. Returns the rows written."""
    grid_rows = {}
    with connection.cursor() as cur:
        cur.execute(
            "SELECT region_id, COUNT(*), "  # noqa: S608
            "SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN status = 'unable' THEN 1 ELSE 0 END) "
            f"FROM {TaskTarget._meta.db_table} WHERE task_id = %s AND period = %s "
            "GROUP BY region_id", [task.pk, period])
        for region_id, total, done, unable in cur.fetchall():
            grid_rows[region_id] = [int(total), int(done or 0), int(unable or 0)]
    nodes = {pk: (parent, level) for pk, parent, level in Region.objects.filter(
        subtree_q(task.region_path)).values_list("pk", "parent_id", "level")}
    sums: dict[int, list[int]] = {}
    for region_id, counts in grid_rows.items():
        node = region_id
        while node is not None and node in nodes:
            acc = sums.setdefault(node, [0, 0, 0])
            acc[0] += counts[0]
            acc[1] += counts[1]
            acc[2] += counts[2]
            if node == task.region_id:
                break
            node = nodes[node][0]
    if task.region_id not in sums:
        sums[task.region_id] = [0, 0, 0]
        nodes.setdefault(task.region_id, (task.region.parent_id, task.region.level))
    TaskTally.objects.filter(task=task, period=period).delete()
    TaskTally.objects.bulk_create(
        [TaskTally(task=task, period=period, region_id=pk, parent_id_hint=nodes[pk][0],
                   level=nodes[pk][1], total=t, done=d, unable=u)
         for pk, (t, d, u) in sums.items()], batch_size=2000)
    return len(sums)


# -- launching -------------------------------------------------------------------------------


def first_period(task: Task, day: datetime.date | None = None) -> Period | None:
    """The period an inspection starts with: the one holding today (or its start day)."""
    if task.kind != TaskKind.INSPECTION:
        return None
    return period_of(task.recurrence, max(day or today(), task.starts_on))


def _expected_key(task_id: int) -> str:
    return f"gridwork:launch:expected:{task_id}"


def remember_expected(task: Task, expected: int) -> None:
    cache.set(_expected_key(task.pk), expected, EXPECTED_TTL)


def launch_progress(task: Task) -> tuple[int, int]:
    """(targets built so far, targets expected) for a launch's progress bar."""
    if task.status != TaskStatus.LAUNCHING:
        return task.targets_total, task.targets_total
    expected = cache.get(_expected_key(task.pk))
    if expected is None:
        expected = estimate_targets(task)
        remember_expected(task, expected)
    return task.targets_total, max(expected, task.targets_total)


def finish_launch(task: Task, actor: Actor | None,
                  action: str = "gridwork.task.launch") -> Task:
    """Tallies, status LAUNCHED, the audit record: the end of a launch, in its transaction.
    ``task`` is locked by the caller."""
    period = first_period(task)
    key = period.key if period else ""
    build_tallies(task, key)
    task.targets_total = TaskTarget.objects.filter(task=task).count()
    task.status = TaskStatus.LAUNCHED
    task.launched_at = timezone.now()
    if key and key not in task.periods:
        task.periods = [*task.periods, key]
    task.save(update_fields=["targets_total", "status", "launched_at", "periods"])
    record(action, task, actor=actor, detail={
        "targets": task.targets_total, "period": key, "title": task.title})
    return task


def build_now(task: Task) -> int:
    """Build all of a (locked) task's targets for its first period, in the caller's
    transaction."""
    period = first_period(task)
    return build_targets(task, period.key if period else "")


def build_parallel(task: Task) -> int:
    """Build the first period's targets chunk by chunk, several chunks at once on their own
    connections, each chunk committed (idempotent: a failed build is simply run again).
    PostgreSQL only; the caller then finishes the launch in its own transaction."""
    period = first_period(task)
    key = period.key if period else ""

    def one(chunk: str) -> int:
        try:
            with transaction.atomic():
                return build_targets(task, key, roots=[chunk])
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=PARALLEL_BUILDS) as pool:
        return sum(pool.map(one, _chunks(task)))


def _chunks(task: Task) -> list[str]:
    """The launch job's units of work: each root, split into its children above the
    community level (a district's streets), so one transaction stays a few seconds."""
    out: list[str] = []
    for root in roots_of(task):
        node = Region.objects.filter(path=root).values_list("level", flat=True).first()
        if node is not None and node < Level.COMMUNITY:
            children = list(Region.objects.filter(subtree_q(root), level=node + 1)
                            .order_by("path").values_list("path", flat=True))
            out.extend(children or [root])
        else:
            out.append(root)
    return out


def run_launching() -> int:
    """Job ``gridwork.launch``: build the targets of tasks waiting in LAUNCHING, a chunk per
    transaction (``targets_total`` grows as it goes), then finish them. Another worker
    holding a task's lock is left alone. Returns the targets added."""
    added = 0
    for task_id in Task.objects.filter(status=TaskStatus.LAUNCHING).order_by("pk") \
            .values_list("pk", flat=True):
        added += _launch_one(task_id)
    return added


def _lock_launching(task_id: int) -> Task | None:
    return (Task.objects.select_for_update(skip_locked=True)
            .filter(pk=task_id, status=TaskStatus.LAUNCHING).first())


def _launch_one(task_id: int) -> int:
    task = Task.objects.filter(pk=task_id).first()
    if task is None:
        return 0
    period = first_period(task)
    key = period.key if period else ""
    added = 0
    for chunk in _chunks(task):
        with transaction.atomic():
            locked = _lock_launching(task_id)
            if locked is None:
                return added  # cancelled, finished, or another worker has it now
            n = build_targets(locked, key, roots=[chunk])
            if n:
                Task.objects.filter(pk=task_id).update(targets_total=locked.targets_total + n)
            added += n
    with transaction.atomic():
        locked = _lock_launching(task_id)
        if locked is not None:
            actor = Actor.system("gridwork.launch")
            with acting_as(actor):
                finish_launch(locked, actor, "gridwork.task.launched")
    return added


# -- rounds of recurring inspections ---------------------------------------------------------


def run_rounds(day: datetime.date | None = None) -> int:
    """Job ``gridwork.rounds``: start the current period of every launched inspection that
    has not got it yet (targets, tallies, ``periods``). Safe to run again: a period already
    started is skipped. Returns the periods started."""
    day = day or today()
    started = 0
    due = Task.objects.filter(kind=TaskKind.INSPECTION, status=TaskStatus.LAUNCHED,
                              starts_on__lte=day).order_by("pk")
    for task_id, recurrence, periods in due.values_list("pk", "recurrence", "periods"):
        key = period_of(recurrence, day).key
        if key in (periods or []):
            continue
        with transaction.atomic():
            task = (Task.objects.select_for_update(skip_locked=True)
                    .filter(pk=task_id, status=TaskStatus.LAUNCHED).first())
            if task is None or key in task.periods:
                continue
            n = build_targets(task, key)
            build_tallies(task, key)
            task.periods = [*task.periods, key]
            task.targets_total += n
            task.save(update_fields=["periods", "targets_total"])
            actor = Actor.system("gridwork.rounds")
            missed = [p.key for p in missed_periods(task.recurrence, task.starts_on,
                                                     task.periods, day)]
            with acting_as(actor):
                record("gridwork.task.round", task, actor=actor,
                       detail={"period": key, "targets": n, "missed": missed})
            started += 1
    return started
