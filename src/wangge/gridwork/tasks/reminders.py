"""Reminders before a task's deadline — 到期提醒: once a day, on working days only.

The ``gridwork.remind`` job (hourly) looks at launched tasks with pending targets due within
the task's ``remind_days`` WORKING days (the official calendar, 调休 included: on a Friday a
Tuesday deadline is two working days away) or already overdue, and tells each assignee how
many of his targets are due when. A target without an assignee (no grid worker when the task
was launched) reminds the grid's active grid workers instead. A ``Reminder`` row per task ×
worker × period × day makes a second run that day send nothing.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db import transaction
from django.db.models import Count, Min
from django.utils import formats
from django.utils.translation import gettext as _

from wangge.accounts.models import User
from wangge.accounts.roles import Role
from wangge.core.clock import today
from wangge.gridwork.models import (
    Reminder,
    TargetStatus,
    Task,
    TaskKind,
    TaskStatus,
    TaskTarget,
)
from wangge.notifications.services import notify
from wangge.workcalendar.services import is_workday, nth_workday_after


def window_end(day: datetime.date, remind_days: int) -> datetime.date:
    """The last due day that is at most ``remind_days`` working days after ``day``."""
    return nth_workday_after(day, remind_days + 1) - datetime.timedelta(days=1)


def _pending(task: Task, end: datetime.date) -> dict[tuple[int, str], list]:
    """{(user id, period): [targets, first due day]} of the task's pending targets due by
    ``end``; unassigned targets go to their grid's active grid workers."""
    out: dict[tuple[int, str], list] = {}
    rows = (TaskTarget.objects.filter(task=task, status=TargetStatus.PENDING, due_on__lte=end)
            .values("assignee_id", "period", "region_id")
            .annotate(n=Count("pk"), due=Min("due_on")))
    orphans: dict[int, list] = defaultdict(list)
    for row in rows:
        if row["assignee_id"] is None:
            orphans[row["region_id"]].append(row)
            continue
        _add(out, (row["assignee_id"], row["period"]), row["n"], row["due"])
    if orphans:
        workers = User.objects.filter(role=Role.GRID_WORKER, is_active=True,
                                      region_id__in=list(orphans)).values_list("pk", "region_id")
        for user_id, region_id in workers:
            for row in orphans[region_id]:
                _add(out, (user_id, row["period"]), row["n"], row["due"])
    return out


def _add(out: dict, key: tuple[int, str], n: int, due: datetime.date) -> None:
    acc = out.setdefault(key, [0, due])
    acc[0] += n
    acc[1] = min(acc[1], due)


def remind_task(task: Task, day: datetime.date) -> int:
    """Send today's reminders of one task (those not sent yet); returns how many."""
    end = window_end(day, task.remind_days)
    with transaction.atomic():
        # One worker at a time per task: the second finds the Reminder rows the first wrote.
        locked = Task.objects.select_for_update().filter(
            pk=task.pk, status=TaskStatus.LAUNCHED).first()
        if locked is None:
            return 0
        due = _pending(locked, end)
        if not due:
            return 0
        sent = set(Reminder.objects.filter(task=locked, on=day)
                   .values_list("user_id", "period"))
        new = {key: value for key, value in due.items() if key not in sent}
        Reminder.objects.bulk_create([
            Reminder(task=locked, user_id=user_id, period=period, on=day, pending=n)
            for (user_id, period), (n, _first) in new.items()])
        users = User.objects.in_bulk([user_id for user_id, _period in new])
        for (user_id, _period), (n, first) in new.items():
            user = users.get(user_id)
            if user is None:
                continue
            subject = _("Reminder: %(task)s") % {"task": locked.title}
            body = _("Still to do in %(task)s: %(n)d, due on %(date)s.") % {
                "n": n, "task": locked.title, "date": formats.date_format(first)}
            if first < day:
                body = _("Still to do in %(task)s: %(n)d, overdue since %(date)s.") \
                    % {"n": n, "task": locked.title, "date": formats.date_format(first)}
            notify([user], subject, body)
    return len(new)


def remind_due(day: datetime.date | None = None) -> int:
    """Job ``gridwork.remind``: today's reminders for every launched task (working days
    only). Returns the reminders sent."""
    day = day or today()
    if not is_workday(day):
        return 0
    sent = 0
    tasks = Task.objects.filter(status=TaskStatus.LAUNCHED).order_by("pk")
    for task in tasks:
        if task.kind != TaskKind.INSPECTION and (
                task.due_on is None or task.due_on > window_end(day, task.remind_days)):
            continue  # all its targets share the task's due day: nothing to count yet
        sent += remind_task(task, day)
    return sent
