"""Campaign progress by grid, community and street (进度), and inspection rounds."""

from __future__ import annotations

import datetime
import json
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import translation

from tests.factories import make_user
from wangge.accounts.roles import Role
from wangge.audit.models import AuditRecord
from wangge.core.clock import replaying
from wangge.core.refusals import NotFound
from wangge.gridwork.models import TaskTally, TaskTarget
from wangge.gridwork.tasks import launch as launching
from wangge.gridwork.tasks import periods, service
from wangge.gridwork.tasks.progress import progress

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def at(y, m, d, h=10):
    return datetime.datetime(y, m, d, h, tzinfo=TZ)


@pytest.fixture
def campaign(handler, admitted_item, tree, homes):
    task = service.create_task(
        handler, kind="campaign", title="入户排查", matter_id=admitted_item.pk,
        region_id=tree["370102"].pk, target_kind="household",
        starts_on=datetime.date(2026, 3, 2), due_on=datetime.date(2026, 3, 31),
        fields=("residents_present",))
    return service.launch(handler, task.pk)


def _finish(user, task, label, status, key):
    target = TaskTarget.objects.get(task=task, label=label)
    result = {"residents_present": "2"} if status == "done" else {}
    return service.complete_target(user, target.pk, status=status, result=result,
                                   note="" if status == "done" else "无人在家",
                                   idempotency_key=key).target


def _assert_tallies_match_counts(task):
    """Every kept tally equals a COUNT of the targets under its node."""
    tallies = TaskTally.objects.filter(task=task).select_related("region")
    assert tallies.exists()
    for tally in tallies:
        under = TaskTarget.objects.filter(task=task, period=tally.period,
                                          region_path__startswith=tally.region.path)
        counts = under.aggregate(total=Count("pk"), done=Count("pk", filter=Q(status="done")),
                                 unable=Count("pk", filter=Q(status="unable")))
        assert (tally.total, tally.done, tally.unable) == (
            counts["total"], counts["done"], counts["unable"]), tally.region.code


def test_tallies_equal_counts_after_completions_and_a_reopen(
        campaign, grid_worker, other_grid_worker, community_staff, tree):
    _finish(grid_worker, campaign, "H-W1-1", "done", "1")
    _finish(grid_worker, campaign, "H-W1-2", "unable", "2")
    _finish(other_grid_worker, campaign, "H-W2-1", "done", "3")
    _finish(grid_worker, campaign, "H-W1-1", "done", "1")  # a retry
    service.reopen_target(community_staff,
                          TaskTarget.objects.get(task=campaign, label="H-W1-2").pk, "请复核")
    _finish(grid_worker, campaign, "H-W1-3", "done", "4")
    _assert_tallies_match_counts(campaign)
    district = TaskTally.objects.get(task=campaign, region=tree["370102"])
    assert (district.total, district.done, district.unable) == (7, 3, 0)
    # rebuilding the tallies from the targets gives the same figures
    launching.build_tallies(campaign)
    _assert_tallies_match_counts(campaign)


def test_progress_drills_down_from_district_to_grid(campaign, handler, grid_worker, tree):
    _finish(grid_worker, campaign, "H-W1-1", "done", "a")
    _finish(grid_worker, campaign, "H-W1-2", "unable", "b")
    top = progress(handler, campaign.pk)
    assert top.node == tree["370102"] and top.path == [tree["370102"]]
    assert (top.row.total, top.row.done, top.row.unable, top.row.pending) == (7, 1, 1, 5)
    assert top.row.percent == round(200 / 7, 1)
    assert [(c.code, c.total, c.finished) for c in top.children] == [
        ("370102001", 6, 2), ("370102002", 1, 0)]
    assert top.targets is None
    street = progress(handler, campaign, node=tree["370102001"].pk)
    assert [(c.name, c.total, c.percent) for c in street.children] == [
        ("西社区", 5, 40.0), ("东社区", 1, 0.0)]
    grid = progress(handler, campaign, node=tree["370102001001001"])
    assert [r.code for r in grid.path] == ["370102", "370102001", "370102001001",
                                           "370102001001001"]
    assert grid.is_grid and [t.label for t in grid.targets] == ["H-W1-1", "H-W1-2", "H-W1-3"]
    assert grid.targets[0].done_by == grid_worker
    with replaying(at(2026, 3, 31, 20)):  # the due day itself is not overdue yet
        assert progress(handler, campaign, node=tree["370102001001001"]).row.overdue == 0


def test_progress_scope(campaign, community_staff, other_community_staff, grid_worker,
                        police_handler, tree):
    # a community's staff starts at their community, and cannot look at the other one
    mine = progress(community_staff, campaign)
    assert mine.node == tree["370102001001"] and mine.row.total == 5
    with pytest.raises(NotFound):
        progress(community_staff, campaign, node=tree["370102001002"].pk)
    with pytest.raises(NotFound):  # above his node
        progress(community_staff, campaign, node=tree["370102001"].pk)
    assert progress(other_community_staff, campaign).row.total == 1
    assert progress(grid_worker, campaign).node == tree["370102001001001"]
    with pytest.raises(NotFound):
        progress(police_handler, campaign)
    with pytest.raises(NotFound):  # a node outside the task's area
        progress(community_staff, campaign, node=tree["3701"].pk)
    with pytest.raises(NotFound):
        progress(community_staff, campaign, period="2026-03")


def test_overdue_once_the_due_day_has_passed(campaign, handler, grid_worker):
    _finish(grid_worker, campaign, "H-W1-1", "done", "a")
    with replaying(at(2026, 4, 1)):
        late = progress(handler, campaign)
    assert late.row.overdue == 6
    assert {c.code: c.overdue for c in late.children} == {"370102001": 5, "370102002": 1}


# -- recurring inspections -------------------------------------------------------------------


def test_period_keys_and_bounds():
    d = datetime.date
    assert periods.period_of("weekly", d(2026, 11, 18)) == periods.Period(
        "2026-W47", d(2026, 11, 16), d(2026, 11, 22))
    assert periods.period_of("weekly", d(2027, 1, 1)).key == "2026-W53"
    assert periods.period_of("monthly", d(2026, 2, 14)) == periods.Period(
        "2026-02", d(2026, 2, 1), d(2026, 2, 28))
    assert periods.period_of("quarterly", d(2026, 11, 3)) == periods.Period(
        "2026-Q4", d(2026, 10, 1), d(2026, 12, 31))
    assert periods.period_of("yearly", d(2026, 6, 1)).key == "2026"
    q3 = periods.period_of("quarterly", d(2026, 9, 30))
    assert periods.next_period("quarterly", q3).key == "2026-Q4"
    with pytest.raises(ValueError):
        periods.period_of("daily", d(2026, 1, 1))


@pytest.mark.parametrize(("recurrence", "first", "second"), [
    ("monthly", "2026-03", "2026-04"),
    ("quarterly", "2026-Q1", "2026-Q2"),
])
def test_inspection_rounds_across_a_boundary(handler, admitted_item, tree, homes, grid_worker,
                                             recurrence, first, second):
    with replaying(at(2026, 3, 20)):
        task = service.create_task(
            handler, kind="inspection", title="场所消防检查", matter_id=admitted_item.pk,
            region_id=tree["370102001"].pk, target_kind="place", recurrence=recurrence,
            target_filter={"place_kinds": ["school", "market"]},
            fields=("fire_extinguishers_ok",), starts_on=datetime.date(2026, 3, 2))
        task = service.launch(handler, task.pk)
        assert task.periods == [first] and task.targets_total == 2
        assert launching.run_rounds() == 0  # the current period exists already
        school = TaskTarget.objects.get(task=task, label="解放路小学")
        assert school.due_on == datetime.date(2026, 3, 31)
        service.complete_target(grid_worker, school.pk, status="done",
                                result={"fire_extinguishers_ok": "yes"}, idempotency_key="m")
    with replaying(at(2026, 3, 31, 23)):
        assert launching.run_rounds() == 0
    with replaying(at(2026, 4, 1, 1)):
        assert launching.run_rounds() == 1
        assert launching.run_rounds() == 0  # idempotent
        task.refresh_from_db()
        assert task.periods == [first, second] and task.targets_total == 4
        now = progress(handler, task)
        assert now.period == second and (now.row.total, now.row.done) == (2, 0)
        before = progress(handler, task, period=first)
        assert (before.row.total, before.row.done) == (2, 1)
        # the new round is to do again in the grid worker's list
        assert [t.period for t in service.open_targets(grid_worker)] == [second]
    assert TaskTarget.objects.filter(task=task).count() == 4
    assert TaskTally.objects.filter(task=task, period=second, region=tree["370102001"]
                                    ).get().total == 2
    assert AuditRecord.objects.filter(action="gridwork.task.round").count() == 1


def test_a_round_no_worker_started_is_named_not_started_late(handler, admitted_item, tree,
                                                              homes, client, reviewer):
    with replaying(at(2026, 3, 20)):
        task = service.launch(handler, service.create_task(
            handler, kind="inspection", title="场所消防检查", matter_id=admitted_item.pk,
            region_id=tree["370102001"].pk, target_kind="place", recurrence="monthly",
            target_filter={"place_kinds": ["school", "market"]},
            fields=("fire_extinguishers_ok",), starts_on=datetime.date(2026, 1, 5)).pk)
    assert task.periods == ["2026-03"]  # January and February came before the launch
    # No worker ran in April: the round of May starts, April's is named as missed.
    with replaying(at(2026, 5, 2, 9)):
        assert launching.run_rounds() == 1
        task.refresh_from_db()
        assert task.periods == ["2026-03", "2026-05"]
        rec = AuditRecord.objects.get(action="gridwork.task.round")
        assert json.loads(rec.detail) == {"period": "2026-05", "targets": 2,
                                          "missed": ["2026-04"]}
        client.force_login(reviewer)
        page = client.get(reverse("gridwork:tasks_task", args=[task.pk])).content.decode()
        assert 'data-testid="missed-rounds"' in page and "2026-04" in page
    assert not TaskTarget.objects.filter(task=task, period="2026-04").exists()


def test_missed_periods_count_only_gaps_after_the_first_round():
    d = datetime.date
    # Weekly from W40; rounds W41 and W43 were started; today is in W45.
    missed = periods.missed_periods("weekly", d(2026, 9, 28), ["2026-W41", "2026-W43"],
                                    d(2026, 11, 4))
    assert [p.key for p in missed] == ["2026-W42", "2026-W44"]
    assert periods.missed_periods("monthly", d(2026, 1, 1), ["2026-11"], d(2026, 11, 30)) == []
    assert [p.key for p in periods.missed_periods(
        "quarterly", d(2026, 1, 1), ["2026-Q1"], d(2026, 10, 1))] == ["2026-Q2", "2026-Q3"]


def test_grid_worker_sees_district_task(campaign, tree):
    far = make_user("gw_s1", Role.GRID_WORKER, tree["370102002001001"])
    assert service.get_task(far, campaign.pk) == campaign
    assert progress(far, campaign).row.total == 1
