"""Deadline reminders (到期提醒): once a day, counted in working days, only when work is left."""

from __future__ import annotations

import datetime

import pytest
from django.utils import translation

from tests.factories import make_user
from wangge.accounts.roles import Role
from wangge.core.jobs import JOBS
from wangge.gridwork.models import Reminder, TaskTarget
from wangge.gridwork.tasks import reminders, service
from wangge.notifications.models import Notification
from wangge.workcalendar.services import set_day

pytestmark = pytest.mark.django_db

THURSDAY, FRIDAY, SATURDAY, MONDAY = (datetime.date(2026, 3, d) for d in (5, 6, 7, 9))
TUESDAY = datetime.date(2026, 3, 10)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _campaign(handler, item, tree, due, remind_days=2, title="入户排查"):
    task = service.create_task(
        handler, kind="campaign", title=title, matter_id=item.pk,
        region_id=tree["370102001"].pk, target_kind="household",
        starts_on=datetime.date(2026, 3, 2), due_on=due, remind_days=remind_days,
        fields=("residents_present",))
    return service.launch(handler, task.pk)


def _inbox(user):
    return list(Notification.objects.filter(user=user).values_list("body", flat=True))


def test_friday_reminds_of_a_tuesday_deadline_once(handler, admitted_item, tree, homes,
                                                   grid_worker, other_grid_worker):
    _campaign(handler, admitted_item, tree, due=TUESDAY)
    assert reminders.remind_due(THURSDAY) == 0  # three working days away
    assert reminders.remind_due(FRIDAY) == 2  # Monday and Tuesday: two working days
    assert _inbox(grid_worker) == ["Still to do in 入户排查: 3, due on March 10, 2026."]
    assert _inbox(other_grid_worker) == ["Still to do in 入户排查: 2, due on March 10, 2026."]
    assert reminders.remind_due(FRIDAY) == 0  # the hourly job again that day
    assert reminders.remind_due(SATURDAY) == 0  # no reminders on days off
    assert Notification.objects.count() == 2
    assert reminders.remind_due(MONDAY) == 2  # a new day
    assert Reminder.objects.filter(on=MONDAY).count() == 2


def test_no_reminder_when_nothing_is_pending(handler, admitted_item, tree, homes,
                                             grid_worker, other_grid_worker):
    task = _campaign(handler, admitted_item, tree, due=TUESDAY)
    for i, target in enumerate(TaskTarget.objects.filter(task=task, assignee=grid_worker)):
        service.complete_target(grid_worker, target.pk, status="done",
                                result={"residents_present": "1"}, idempotency_key=f"k{i}")
    assert reminders.remind_due(FRIDAY) == 1
    assert _inbox(grid_worker) == []
    assert len(_inbox(other_grid_worker)) == 1
    service.close_task(handler, task.pk)
    assert reminders.remind_due(MONDAY) == 0  # a closed task asks nothing more


def test_holiday_counts_as_no_working_day(handler, admitted_item, tree, homes, grid_worker,
                                          other_grid_worker):
    _campaign(handler, admitted_item, tree, due=datetime.date(2026, 3, 11), remind_days=2)
    assert reminders.remind_due(FRIDAY) == 0  # Mon, Tue, Wed: three working days
    set_day(MONDAY, False, "停电检修")  # a local day off
    assert reminders.remind_due(FRIDAY) == 2
    set_day(SATURDAY, True, "调休")  # a make-up working day reminds again
    assert reminders.remind_due(SATURDAY) == 2


def test_unassigned_targets_remind_the_grids_workers(handler, admitted_item, tree, homes,
                                                     grid_worker):
    task = _campaign(handler, admitted_item, tree, due=TUESDAY)
    east = TaskTarget.objects.get(task=task, label="H-E1-1")
    assert east.assignee is None  # nobody worked the east grid at launch
    newcomer = make_user("gw_east1", Role.GRID_WORKER, tree["370102001002001"])
    gone = make_user("gw_east1_gone", Role.GRID_WORKER, tree["370102001002001"])
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    reminders.remind_due(FRIDAY)
    assert _inbox(newcomer) == ["Still to do in 入户排查: 1, due on March 10, 2026."]
    assert Reminder.objects.filter(user__username="gw_east1_gone").count() == 0


def test_overdue_targets_are_named_overdue(handler, admitted_item, tree, homes, grid_worker):
    _campaign(handler, admitted_item, tree, due=THURSDAY)
    reminders.remind_due(MONDAY)
    assert _inbox(grid_worker) == [
        "Still to do in 入户排查: 3, overdue since March 5, 2026."]


def test_jobs_are_declared():
    names = {job.name: job.every_seconds for job in JOBS}
    assert names["gridwork.remind"] == 3600 and names["gridwork.rounds"] == 3600
    assert names["gridwork.launch"] <= 5
