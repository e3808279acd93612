"""The task engine: the gate, drafting checks, launching, completing (任务、拉网式排查)."""

from __future__ import annotations

import datetime

import pytest
from django.db.models import Count
from django.utils import translation

from tests.factories import make_user
from tests.registry_factories import make_department
from wangge.accounts.roles import Role
from wangge.audit.models import AuditRecord
from wangge.core.refusals import Conflict, Forbidden, Invalid, NotFound
from wangge.gridwork import service as matters
from wangge.gridwork.models import Task, TaskStatus, TaskTally, TaskTarget
from wangge.gridwork.service import Application
from wangge.gridwork.tasks import launch as launching
from wangge.gridwork.tasks import service
from wangge.registry.facts import latest_facts
from wangge.registry.models import Fact

pytestmark = pytest.mark.django_db

START = datetime.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def draft(user, item, tree, **kw):
    values = {"kind": "campaign", "title": "燃气安全入户排查", "matter_id": item.pk,
              "region_id": tree["370102"].pk, "target_kind": "household",
              "starts_on": START, "due_on": datetime.date(2026, 3, 31),
              "fields": ("residents_present", "gas_safety_hazard")}
    values.update(kw)
    return service.create_task(user, **values)


# -- the gate (多网合一) -----------------------------------------------------------------------


def test_gate_refuses_work_not_on_the_list(handler, reviewer, police_handler, admitted_item,
                                           tree):
    def refused(user, item_id, match, **kw):
        with pytest.raises(Invalid, match=match) as exc:
            draft(user, admitted_item, tree, matter_id=item_id, **kw)
        assert exc.value.field == "matter"

    refused(handler, 999999, "no such item")
    # another department's item: police may not send 民政局's work
    refused(police_handler, admitted_item.pk, "another department")
    # not yet effective on the start day
    refused(handler, admitted_item.pk, "takes effect on 2026-01-01",
            starts_on=datetime.date(2025, 12, 1), due_on=None)
    pending = matters.apply(handler, Application(
        name="新事项", basis="依据", duties="职责", frequency="monthly"))
    refused(handler, pending.pk, "applied")
    matters.decide(reviewer, pending.pk, "refuse", "不属于网格职责")
    refused(handler, pending.pk, "refused")
    matters.decide(handler, admitted_item.pk, "apply_exit", "已移交物业")
    assert draft(handler, admitted_item, tree).status == TaskStatus.DRAFT  # exit not yet approved
    matters.decide(reviewer, admitted_item.pk, "approve_exit")
    refused(handler, admitted_item.pk, "exited")
    assert Task.objects.count() == 1


def test_gate_is_checked_again_at_launch(handler, reviewer, admitted_item, tree, homes):
    task = draft(handler, admitted_item, tree)
    matters.decide(handler, admitted_item.pk, "apply_exit", "已移交物业")
    matters.decide(reviewer, admitted_item.pk, "approve_exit")
    with pytest.raises(Invalid, match="exited"):
        service.launch(handler, task.pk)
    assert TaskTarget.objects.count() == 0


def test_only_departments_send_tasks(community_staff, grid_worker, admitted_item, tree):
    for user in (community_staff, grid_worker):
        with pytest.raises(Forbidden):
            draft(user, admitted_item, tree)


# -- drafting checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"fields": ("residents_present", "sex")}, "fields", "sex is not among"),
    ({"fields": ("fire_extinguishers_ok",)}, "fields", "does not describe"),
    ({"kind": "inspection", "target_kind": "place", "recurrence": ""}, "recurrence", "weekly"),
    ({"kind": "inspection", "target_kind": "household", "recurrence": "monthly"},
     "target_kind", "cannot target"),
    ({"recurrence": "monthly"}, "recurrence", "Only recurring"),
    ({"target_filter": {"place_kinds": ["school"]}}, "target_filter", "does not apply"),
    ({"target_filter": {"house_usage": ["palace"]}}, "target_filter", "palace"),
    ({"due_on": datetime.date(2026, 3, 1)}, "due_on", "before the start"),
    ({"title": "  "}, "title", "required"),
    ({"remind_days": 99}, "remind_days", "between 0 and 30"),
    ({"starts_on": "next week"}, "starts_on", "not a date"),
    ({"kind": "poster"}, "kind", "kind of task"),
])
def test_draft_refuses_wrong_input(handler, admitted_item, tree, changes, field, words):
    with pytest.raises(Invalid, match=words) as exc:
        draft(handler, admitted_item, tree, **changes)
    assert exc.value.field == field
    assert not Task.objects.exists()


def test_areas_must_lie_inside_the_area(handler, admitted_item, tree):
    with pytest.raises(Invalid) as exc:
        draft(handler, admitted_item, tree, region_id=tree["370102001"].pk,
              areas=[tree["370102002001"].pk])
    assert exc.value.field == "areas"
    with pytest.raises(Invalid) as exc:  # outside the handler's district
        draft(handler, admitted_item, tree, region_id=tree["3701"].pk)
    assert exc.value.field == "region"


# -- launching -------------------------------------------------------------------------------


def test_campaign_targets_every_household_of_the_chosen_grids_only(
        handler, admitted_item, tree, homes, grid_worker, other_grid_worker):
    task = draft(handler, admitted_item, tree, areas=[tree["370102001001"].pk])
    task = service.launch(handler, task.pk)
    assert task.status == TaskStatus.LAUNCHED and task.targets_total == 5
    targets = {t.label: t for t in TaskTarget.objects.filter(task=task)}
    assert set(targets) == {"H-W1-1", "H-W1-2", "H-W1-3", "H-W2-1", "H-W2-2"}
    assert {targets[k].assignee for k in ("H-W1-1", "H-W1-2", "H-W1-3")} == {grid_worker}
    assert {targets[k].assignee for k in ("H-W2-1", "H-W2-2")} == {other_grid_worker}
    assert all(t.due_on == datetime.date(2026, 3, 31) for t in targets.values())
    assert targets["H-W1-1"].object_id == homes["w1"][0].pk
    # launching again (a double click) adds nothing; building again neither
    assert service.launch(handler, task.pk).targets_total == 5
    assert launching.build_targets(task) == 0
    assert TaskTarget.objects.filter(task=task).count() == 5
    launch_audit = AuditRecord.objects.get(action="gridwork.task.launch")
    assert '"targets":5' in launch_audit.detail
    tallies = {t.region.code: (t.total, t.level) for t in TaskTally.objects.filter(task=task)}
    assert tallies == {"370102": (5, 3), "370102001": (5, 4), "370102001001": (5, 5),
                       "370102001001001": (3, 6), "370102001001002": (2, 6)}


def test_filters_and_other_target_kinds(handler, admitted_item, tree, homes, grid_worker):
    rented = service.launch(handler, draft(
        handler, admitted_item, tree, target_filter={"house_usage": ["rented"]}).pk)
    assert list(rented.targets.values_list("label", flat=True)) == ["H-W1-2"]
    whole = service.launch(handler, draft(handler, admitted_item, tree).pk)
    assert whole.targets_total == 7  # both streets
    schools = service.launch(handler, draft(
        handler, admitted_item, tree, target_kind="place", fields=("fire_extinguishers_ok",),
        target_filter={"place_kinds": ["school", "market"]}).pk)
    assert set(schools.targets.values_list("label", flat=True)) == {"解放路小学", "东社区市场"}
    grids = service.launch(handler, draft(
        handler, admitted_item, tree, kind="task", target_kind="grid",
        region_id=tree["370102001"].pk, fields=("hazards_found",)).pk)
    assert grids.targets_total == 4
    west1 = grids.targets.get(label="西社区第一网格")
    assert west1.assignee == grid_worker and west1.object_id == tree["370102001001001"].pk
    assert grids.targets.get(label="东社区第一网格").assignee is None  # nobody works there


def test_big_launch_goes_to_the_job(handler, admitted_item, tree, homes, monkeypatch):
    monkeypatch.setattr(launching, "INLINE_LIMIT", 3)
    task = service.launch(handler, draft(handler, admitted_item, tree).pk)
    assert task.status == TaskStatus.LAUNCHING and not task.targets.exists()
    assert launching.launch_progress(task) == (0, 7)
    assert launching.run_launching() == 7
    task.refresh_from_db()
    assert task.status == TaskStatus.LAUNCHED and task.targets_total == 7
    assert launching.launch_progress(task) == (7, 7)
    assert TaskTally.objects.get(task=task, region=tree["370102"]).total == 7
    assert launching.run_launching() == 0
    assert AuditRecord.objects.filter(action="gridwork.task.launched").count() == 1


def test_close_and_cancel(handler, police_handler, admitted_item, tree, homes, grid_worker):
    task = service.launch(handler, draft(handler, admitted_item, tree).pk)
    with pytest.raises(NotFound):  # another department does not even see it
        service.close_task(police_handler, task.pk)
    assert service.open_targets(grid_worker).count() == 3
    assert service.close_task(handler, task.pk).status == TaskStatus.CLOSED
    assert service.open_targets(grid_worker).count() == 0
    with pytest.raises(Conflict):
        service.cancel_task(handler, task.pk)
    with pytest.raises(Conflict, match="closed"):
        service.launch(handler, task.pk)
    other = draft(handler, admitted_item, tree)
    assert service.cancel_task(handler, other.pk).status == TaskStatus.CANCELLED
    assert AuditRecord.objects.filter(action__in=("gridwork.task.close",
                                                  "gridwork.task.cancel")).count() == 2


# -- completing ------------------------------------------------------------------------------


@pytest.fixture
def campaign(handler, admitted_item, tree, homes):
    return service.launch(handler, draft(handler, admitted_item, tree,
                                         areas=[tree["370102001001"].pk]).pk)


def _target(task, label):
    return TaskTarget.objects.get(task=task, label=label)


def test_complete_writes_target_tallies_facts_once(campaign, grid_worker, homes, tree):
    target = _target(campaign, "H-W1-1")
    out = service.complete_target(grid_worker, target.pk, status="done",
                                  result={"residents_present": "3", "gas_safety_hazard": "是"},
                                  idempotency_key="k-1")
    assert out.applied and not out.replayed
    target.refresh_from_db()
    assert target.status == "done" and target.done_by == grid_worker and target.version == 1
    assert target.result == {"residents_present": "3", "gas_safety_hazard": "yes"}
    facts = latest_facts("household", homes["w1"][0].pk)
    assert {k: f.value for k, f in facts.items()} == {"residents_present": "3",
                                                      "gas_safety_hazard": "yes"}
    assert facts["residents_present"].source == f"gridwork.target:{target.pk}"
    assert facts["residents_present"].observed_by == grid_worker
    # the retry of the same completion writes nothing
    again = service.complete_target(grid_worker, target.pk, status="done",
                                    result={"residents_present": "3",
                                            "gas_safety_hazard": "yes"},
                                    idempotency_key="k-1")
    assert again.replayed and not again.applied
    assert Fact.objects.count() == 2
    assert TaskTally.objects.get(task=campaign, region=tree["370102"]).done == 1
    assert TaskTally.objects.get(task=campaign, region=tree["370102001001001"]).done == 1
    assert AuditRecord.objects.filter(action="gridwork.target.complete").count() == 1
    assert service.open_targets(grid_worker).count() == 2


def test_second_completion_conflicts_naming_who(campaign, grid_worker, community_staff):
    target = _target(campaign, "H-W1-2")
    service.complete_target(grid_worker, target.pk, status="unable", result={},
                            note="无人在家", idempotency_key="a")
    with pytest.raises(Conflict, match="gw_west1"):
        service.complete_target(community_staff, target.pk, status="done",
                                result={"residents_present": 2, "gas_safety_hazard": "no"},
                                idempotency_key="b")
    stale = _target(campaign, "H-W1-3")
    with pytest.raises(Conflict, match="changed since"):
        service.complete_target(grid_worker, stale.pk, status="unable", note="拆迁",
                                result={}, idempotency_key="c", base_version=3)
    stale.refresh_from_db()
    assert stale.status == "pending"


def test_completion_checks_input(campaign, grid_worker):
    target = _target(campaign, "H-W1-1")

    def refused(field, **kw):
        values = {"status": "done", "result": {"residents_present": "2",
                                               "gas_safety_hazard": "no"},
                  "idempotency_key": "x"}
        values.update(kw)
        with pytest.raises(Invalid) as exc:
            service.complete_target(grid_worker, target.pk, **values)
        assert exc.value.field == field
        return exc.value.message

    assert "whole number" in refused("residents_present",
                                     result={"residents_present": "three",
                                             "gas_safety_hazard": "no"})
    assert "required" in refused("gas_safety_hazard", result={"residents_present": "2"})
    assert "not asked" in refused("check_note", result={"check_note": "x"})
    assert "note" in refused("note", status="unable", result={})
    refused("status", status="maybe")
    refused("idempotency_key", idempotency_key="")
    refused("case", case_id=424242)
    target.refresh_from_db()
    assert target.status == "pending" and target.version == 0
    assert not Fact.objects.exists()


def test_scope_and_roles(campaign, grid_worker, other_grid_worker, handler, police_handler,
                         tree):
    theirs = _target(campaign, "H-W2-1")
    with pytest.raises(NotFound):  # another grid's worker
        service.complete_target(grid_worker, theirs.pk, status="unable", note="x",
                                result={}, idempotency_key="z")
    with pytest.raises(Forbidden):  # a department handler does not complete targets
        service.complete_target(handler, theirs.pk, status="unable", note="x", result={},
                                idempotency_key="z")
    with pytest.raises(NotFound):  # another department does not read the task
        service.get_task(police_handler, campaign.pk)
    assert service.get_task(handler, campaign.pk) == campaign
    assert [t.label for t in service.open_targets(other_grid_worker)] == ["H-W2-1", "H-W2-2"]
    with pytest.raises(Forbidden):
        service.reopen_target(grid_worker, theirs.pk, "重做")


def test_reopen_sends_back_and_next_facts_win(campaign, grid_worker, community_staff,
                                              homes, tree):
    target = _target(campaign, "H-W1-1")
    service.complete_target(grid_worker, target.pk, status="done",
                            result={"residents_present": "30", "gas_safety_hazard": "no"},
                            idempotency_key="first")
    with pytest.raises(Invalid):
        service.reopen_target(community_staff, target.pk, "")
    target = service.reopen_target(community_staff, target.pk, "人数明显有误，请复核")
    assert target.status == "pending" and target.version == 2
    assert TaskTally.objects.get(task=campaign, region=tree["370102"]).done == 0
    with pytest.raises(Conflict, match="still to do"):
        service.reopen_target(community_staff, target.pk, "again")
    # A late retry of the answer that was sent back does not put it back.
    with pytest.raises(Conflict, match="sent back"):
        service.complete_target(grid_worker, target.pk, status="done",
                                result={"residents_present": "30", "gas_safety_hazard": "no"},
                                idempotency_key="first")
    target.refresh_from_db()
    assert target.status == "pending" and target.version == 2
    service.complete_target(grid_worker, target.pk, status="done",
                            result={"residents_present": "3", "gas_safety_hazard": "no"},
                            idempotency_key="second")
    assert latest_facts("household", homes["w1"][0].pk)["residents_present"].value == "3"
    assert Fact.objects.filter(field="residents_present").count() == 2
    assert AuditRecord.objects.filter(action="gridwork.target.reopen").count() == 1


def test_closed_task_takes_no_completion(campaign, handler, grid_worker):
    target = _target(campaign, "H-W1-1")
    service.close_task(handler, campaign.pk)
    with pytest.raises(Conflict, match="closed"):
        service.complete_target(grid_worker, target.pk, status="unable", note="x", result={},
                                idempotency_key="late")


def test_grid_worker_without_grid_sees_nothing(campaign, tree):
    stranger = make_user("gw_far", Role.GRID_WORKER, tree["370102002001001"])
    assert not service.open_targets(stranger).exists()
    other_dept = make_department("jt", "交通局", tree["370102"])
    assert other_dept.pk
    counts = dict(TaskTarget.objects.values_list("region__code").annotate(n=Count("pk")))
    assert "370102002001001" not in counts


def test_cards_show_what_was_observed(handler, admitted_item, tree, homes, grid_worker,
                                      community_staff, client):
    task = service.launch(handler, draft(
        handler, admitted_item, tree, target_kind="place", fields=("fire_extinguishers_ok",),
        target_filter={"place_kinds": ["school"]}).pk)
    school = task.targets.get()
    service.complete_target(grid_worker, school.pk, status="done",
                            result={"fire_extinguishers_ok": "no"}, idempotency_key="s")
    household = TaskTarget.objects.get(task=campaign_of(handler, admitted_item, tree),
                                       label="H-W1-2")
    service.complete_target(grid_worker, household.pk, status="done",
                            result={"residents_present": "4", "gas_safety_hazard": "yes"},
                            idempotency_key="h")
    client.force_login(community_staff)
    with translation.override("zh-hans"):
        page = client.get(f"/registry/places/{homes['school'].pk}/",
                          HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert 'data-testid="observed"' in page
        assert "灭火器配备有效" in page and "<td>否</td>" in page and "gw_west1" in page
        house = client.get(f"/registry/houses/{homes['w1'][1].house_id}/",
                           HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "实住人数" in house and "<td>4</td>" in house and "<h3>H-W1-2</h3>" in house
        other = client.get(f"/registry/places/{homes['shop'].pk}/").content.decode()
        assert 'data-testid="observed"' not in other


def campaign_of(handler, item, tree):
    return service.launch(handler, draft(handler, item, tree).pk)


@pytest.mark.django_db(transaction=True)
def test_big_launch_waited_for_builds_in_chunks(handler, admitted_item, tree, homes,
                                               monkeypatch):
    """``launch(inline=True)`` of a big task: on PostgreSQL chunks on parallel connections,
    on SQLite one build — the same targets and tallies either way, and only once."""
    monkeypatch.setattr(launching, "INLINE_LIMIT", 2)
    task = service.launch(handler, draft(handler, admitted_item, tree).pk, inline=True)
    assert task.status == TaskStatus.LAUNCHED and task.targets_total == 7
    assert TaskTally.objects.get(task=task, region=tree["370102"]).total == 7
    assert TaskTally.objects.get(task=task, region=tree["370102002"]).total == 1
    assert service.launch(handler, task.pk, inline=True).targets_total == 7
    assert TaskTarget.objects.filter(task=task).count() == 7
    assert AuditRecord.objects.filter(action="gridwork.task.launch").count() == 1
