"""Task pages: the new-task form and its gate, launching, progress by street / community /
grid with CSV, a target completed from its phone page, and who may see what."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from tests.factories import make_user
from wangge.accounts.roles import Role
from wangge.core.clock import today
from wangge.gridwork import service as matters
from wangge.gridwork.models import Task, TaskStatus, TaskTarget
from wangge.gridwork.tasks import launch as launching
from wangge.gridwork.tasks import service

pytestmark = pytest.mark.django_db

TODAY = today()
DISTRICT, STREET, WEST, W1 = "370102", "370102001", "370102001001", "370102001001001"


@pytest.fixture(autouse=True)
def _english(client):
    """Pages are matched by their English wording here (the request's language comes from
    the cookie; the override covers what tests build outside a request)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


def form_data(item, region, **kw) -> dict:
    data = {"kind": "campaign", "title": "燃气安全入户排查（冬季）", "instructions": "逐户查看燃气",
            "matter": item.pk, "region": region.pk, "target_kind": "household",
            "fields": ["residents_present", "gas_safety_hazard"],
            "starts_on": TODAY.isoformat(), "due_on": (TODAY + datetime.timedelta(days=30))
            .isoformat(), "remind_days": 2}
    data.update(kw)
    return data


@pytest.fixture
def campaign(handler, admitted_item, tree, homes):
    """A launched campaign over every household of the district (7: 6 in the first street,
    1 in the second)."""
    task = service.create_task(
        handler, kind="campaign", title="入户排查", matter_id=admitted_item.pk,
        region_id=tree[DISTRICT].pk, target_kind="household", starts_on=TODAY,
        due_on=TODAY + datetime.timedelta(days=30),
        fields=("residents_present", "gas_safety_hazard"))
    return service.launch(handler, task.pk)


def _page(client, task, node=None, **params):
    url = reverse("gridwork:tasks_progress", args=[task.pk])
    if node is not None:
        params["node"] = node.pk
    return client.get(url, params)


def _target(task, label) -> TaskTarget:
    return TaskTarget.objects.get(task=task, label=label)


def test_form_offers_only_admitted_items_and_refuses_an_unlisted_one(
        client, handler, reviewer, admitted_item, tree, homes):
    pending = matters.apply(handler, matters.Application(
        name="出租屋核查", basis="《租赁条例》", duties="核查出租屋", frequency="monthly",
        fields=("residents_present",)))
    client.force_login(handler)
    page = client.get(reverse("gridwork:tasks_new")).content.decode()
    assert "燃气安全入户排查" in page and "出租屋核查" not in page
    assert reverse("gridwork:index") in page  # where to apply when none fits
    # A hand-made post naming the pending item: the gate's words beside the matter input.
    resp = client.post(reverse("gridwork:tasks_new"), form_data(pending, tree[DISTRICT]))
    body = resp.content.decode()
    assert resp.status_code == 422 and "not on the admitted grid matters list" in body
    assert 'data-field="matter"' in body and "网格事项准入清单" in body
    assert not Task.objects.exists()
    # A field the item does not collect is named too.
    resp = client.post(reverse("gridwork:tasks_new"),
                       form_data(admitted_item, tree[DISTRICT], fields=["living_alone"]))
    assert resp.status_code == 422 and not Task.objects.exists()
    # With the admitted item it is saved as a draft and shown.
    resp = client.post(reverse("gridwork:tasks_new"), form_data(admitted_item, tree[DISTRICT]))
    task = Task.objects.get()
    assert resp.status_code == 302 and resp.url == reverse("gridwork:tasks_task", args=[task.pk])
    assert task.status == TaskStatus.DRAFT and task.fields == ["residents_present",
                                                               "gas_safety_hazard"]
    page = client.get(resp.url).content.decode()
    assert 'data-action="launch"' in page and 'data-testid="draft-note"' in page


def test_form_keeps_filters_and_areas(client, handler, admitted_item, tree, homes):
    client.force_login(handler)
    resp = client.post(reverse("gridwork:tasks_new"), form_data(
        admitted_item, tree[DISTRICT], house_usage=["rented"], areas=[tree[WEST].pk]))
    assert resp.status_code == 302
    task = Task.objects.get()
    assert task.target_filter == {"house_usage": ["rented"]} and task.areas == [tree[WEST].pk]
    client.post(reverse("gridwork:tasks_act", args=[task.pk, "launch"]))
    assert [t.label for t in TaskTarget.objects.filter(task=task)] == ["H-W1-2"]
    # an inspection without a repeat is refused, naming the input
    resp = client.post(reverse("gridwork:tasks_new"), form_data(
        admitted_item, tree[DISTRICT], kind="inspection", target_kind="place",
        fields=["fire_extinguishers_ok"]))
    assert resp.status_code == 422
    assert "repeats weekly, monthly" in resp.content.decode()


def test_launch_then_progress_table_drills_down_and_follows_completions(
        client, handler, admitted_item, tree, homes, grid_worker, reviewer):
    client.force_login(handler)
    client.post(reverse("gridwork:tasks_new"), form_data(admitted_item, tree[DISTRICT]))
    task = Task.objects.get()
    resp = client.post(reverse("gridwork:tasks_act", args=[task.pk, "launch"]))
    assert resp.status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.LAUNCHED and task.targets_total == 7
    page = _page(client, task)
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="total">7<' in body and 'data-testid="percent">0.0%<' in body
    assert 'data-region="370102001"' in body and 'data-region="370102002"' in body
    # A grid worker completes two targets; the command centre's page shows the new numbers.
    for label, status, note in (("H-W1-1", "done", ""), ("H-W1-2", "unable", "无人在家")):
        service.complete_target(grid_worker, _target(task, label).pk, status=status,
                                result={"residents_present": "3", "gas_safety_hazard": "no"}
                                if status == "done" else {}, note=note,
                                idempotency_key=f"k-{label}")
    client.force_login(reviewer)
    body = _page(client, task).content.decode()
    assert 'data-testid="done">1<' in body and 'data-testid="unable">1<' in body
    assert 'data-testid="percent">28.6%<' in body  # 2 of 7 finished
    # drill: street → community → grid, breadcrumbs back up
    body = _page(client, task, tree[STREET]).content.decode()
    assert 'data-testid="total">6<' in body and 'data-region="370102001001"' in body
    assert f'?node={tree[DISTRICT].pk}' in body  # breadcrumb to the district
    body = _page(client, task, tree[WEST]).content.decode()
    assert 'data-region="370102001001001"' in body
    assert 'data-testid="percent">40.0%<' in body  # 2 of the community's 5
    grid = _page(client, task, tree[W1])
    body = grid.content.decode()
    assert 'data-testid="targets"' in body and 'data-status="done"' in body
    assert "gw_west1" in body and 'data-testid="progress-map"' not in body
    assert reverse("gridwork:tasks_target", args=[_target(task, "H-W1-3").pk]) in body


def test_progress_page_reads_tallies_only_above_grid_level(
        client, campaign, reviewer, tree, django_assert_max_num_queries):
    """The street page of a 500,000-household campaign must stay fast: no query per target
    nor per child area."""
    client.force_login(reviewer)
    _page(client, campaign, tree[STREET])  # warm: session, sites, templates
    with django_assert_max_num_queries(12):
        assert _page(client, campaign, tree[STREET]).status_code == 200


def test_csv_export_of_a_node(client, grid_worker, campaign, reviewer, tree):
    service.complete_target(grid_worker, _target(campaign, "H-W1-1").pk, status="done",
                            result={"residents_present": "1", "gas_safety_hazard": "yes"},
                            idempotency_key="csv-1")
    client.force_login(reviewer)
    resp = client.get(reverse("gridwork:tasks_csv", args=[campaign.pk]),
                      {"node": tree[STREET].pk})
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/csv")
    assert "attachment" in resp["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["area", "code", "total", "done"]
    by_code = {r[1]: r for r in rows[1:]}
    assert by_code["370102001001"][2:5] == ["5", "1", "0"]
    assert by_code["370102001002"][2:5] == ["1", "0", "0"]
    grid = client.get(reverse("gridwork:tasks_csv", args=[campaign.pk]), {"node": tree[W1].pk})
    lines = list(csv.reader(io.StringIO(grid.content.decode("utf-8-sig"))))
    assert lines[0] == ["target", "status", "assignee", "done at"] and len(lines) == 4
    assert lines[1][:3] == ["H-W1-1", "done", "gw_west1"]


def test_target_page_completes_once_and_shows_refusals(
        client, campaign, grid_worker, other_grid_worker, community_staff):
    target = _target(campaign, "H-W1-1")
    url = reverse("gridwork:tasks_target", args=[target.pk])
    client.force_login(grid_worker)
    page = client.get(url)
    body = page.content.decode()
    assert page.status_code == 200 and 'name="residents_present"' in body
    key = page.context["form"].initial["key"]
    # a missing field is named, nothing written
    resp = client.post(url, {"key": key, "version": 0, "status": "done",
                             "residents_present": "2"})
    assert resp.status_code == 422 and "gas safety hazard is required" in resp.content.decode()
    # "could not be done" needs a note
    resp = client.post(url, {"key": key, "version": 0, "status": "unable"})
    assert resp.status_code == 422 and "a note is required" in resp.content.decode()
    target.refresh_from_db()
    assert target.status == "pending"
    good = {"key": key, "version": 0, "status": "done", "residents_present": "2",
            "gas_safety_hazard": "no"}
    assert client.post(url, good).status_code == 302
    again = client.post(url, good, follow=True)  # a double submit: a replay
    assert "Already saved." in again.content.decode()
    target.refresh_from_db()
    assert target.status == "done" and target.version == 1 and target.done_by == grid_worker
    answers = again.content.decode().split('data-testid="answers"')[1]
    assert "<dd>否</dd>" in answers and "<dd>2</dd>" in answers  # choices by their label
    # Another key on a done target: a conflict that says who did it.
    resp = client.post(url, {**good, "key": "another-device-key"})
    assert resp.status_code == 409 and "already marked done by gw_west1" in \
        resp.content.decode()
    # A grid worker of another grid does not see it at all.
    client.force_login(other_grid_worker)
    assert client.get(url).status_code == 404
    # Community staff send it back, saying why; it is to do again.
    client.force_login(community_staff)
    assert 'data-testid="reopen-form"' in client.get(url).content.decode()
    assert client.post(reverse("gridwork:tasks_reopen", args=[target.pk]),
                       {"note": ""}).status_code == 422
    assert client.post(reverse("gridwork:tasks_reopen", args=[target.pk]),
                       {"note": "人数有误"}).status_code == 302
    target.refresh_from_db()
    assert target.status == "pending"


def test_who_may_do_what(client, campaign, handler, police_handler, grid_worker, tree,
                         admitted_item, street_command):
    client.force_login(grid_worker)
    assert client.get(reverse("gridwork:tasks_new")).status_code == 403
    assert client.post(reverse("gridwork:tasks_act",
                               args=[campaign.pk, "close"])).status_code == 403
    # another department sees neither the task nor its progress
    client.force_login(police_handler)
    assert client.get(reverse("gridwork:tasks_task", args=[campaign.pk])).status_code == 404
    assert "入户排查" not in client.get(reverse("gridwork:tasks_list")).content.decode()
    assert client.post(reverse("gridwork:tasks_act",
                               args=[campaign.pk, "cancel"])).status_code == 404
    # a street sees the district's task as it concerns it: its own street, nothing beside
    client.force_login(street_command)
    page = _page(client, campaign)
    assert page.status_code == 200 and page.context["report"].node == tree[STREET]
    assert 'data-testid="total">6<' in page.content.decode()
    assert f"?node={tree[DISTRICT].pk}" not in page.content.decode()  # above: not a link
    assert _page(client, campaign, tree["370102002"]).status_code == 404
    assert _page(client, campaign, tree[DISTRICT]).status_code == 404
    # a street sees a task sent into its street, drills inside it only
    street_task = service.launch(handler, service.create_task(
        handler, kind="campaign", title="解放路街道排查", matter_id=admitted_item.pk,
        region_id=tree[STREET].pk, target_kind="household", starts_on=TODAY,
        fields=("residents_present",)).pk)
    client.force_login(street_command)
    listing = client.get(reverse("gridwork:tasks_list")).content.decode()
    assert "解放路街道排查" in listing
    assert _page(client, street_task, tree[WEST]).status_code == 200
    assert _page(client, street_task, tree["370102002"]).status_code == 404
    other_street = make_user("qfs_staff", Role.STAFF, tree["370102002"])
    client.force_login(other_street)
    assert _page(client, street_task).status_code == 404
    assert client.get(reverse("gridwork:tasks_target", args=[
        _target(street_task, "H-W1-1").pk])).status_code == 404


def test_close_and_cancel_from_the_page(client, campaign, handler):
    client.force_login(handler)
    page = client.get(reverse("gridwork:tasks_task", args=[campaign.pk])).content.decode()
    assert 'data-action="close"' in page and 'data-action="launch"' not in page
    client.post(reverse("gridwork:tasks_act", args=[campaign.pk, "close"]))
    campaign.refresh_from_db()
    assert campaign.status == TaskStatus.CLOSED
    resp = client.post(reverse("gridwork:tasks_act", args=[campaign.pk, "launch"]))
    assert resp.status_code == 409 and 'data-testid="refused"' in resp.content.decode()
    assert client.post(reverse("gridwork:tasks_act",
                               args=[campaign.pk, "explode"])).status_code == 404


def test_big_launch_shows_a_progress_bar_until_built(
        client, handler, admitted_item, tree, homes, monkeypatch):
    monkeypatch.setattr(launching, "INLINE_LIMIT", 3)  # 7 households: built by the job
    client.force_login(handler)
    client.post(reverse("gridwork:tasks_new"), form_data(admitted_item, tree[DISTRICT]))
    task = Task.objects.get()
    client.post(reverse("gridwork:tasks_act", args=[task.pk, "launch"]))
    task.refresh_from_db()
    assert task.status == TaskStatus.LAUNCHING
    page = client.get(reverse("gridwork:tasks_task", args=[task.pk])).content.decode()
    poll = reverse("gridwork:tasks_launching", args=[task.pk])
    assert f'hx-get="{poll}"' in page and "htmx.min.js" in page
    fragment = client.get(poll)
    assert "of about 7" in fragment.content.decode() and "HX-Refresh" not in fragment
    launching.run_launching()
    done = client.get(poll)
    assert done["HX-Refresh"] == "true"
    page = client.get(reverse("gridwork:tasks_task", args=[task.pk])).content.decode()
    assert 'data-testid="total">7<' in page


def test_list_filters_and_shows_percent(client, grid_worker, campaign, handler, admitted_item,
                                        tree):
    draft = service.create_task(handler, kind="task", title="网格巡查", matter_id=admitted_item.pk,
                        region_id=tree[DISTRICT].pk, target_kind="grid", starts_on=TODAY)
    service.complete_target(grid_worker, _target(campaign, "H-W1-1").pk, status="done",
                            result={"residents_present": "1", "gas_safety_hazard": "no"},
                            idempotency_key="list-1")
    client.force_login(handler)
    mine, theirs = f'data-task="{campaign.pk}"', f'data-task="{draft.pk}"'
    body = client.get(reverse("gridwork:tasks_list")).content.decode()
    assert mine in body and theirs in body and "14.3%" in body  # 1 of 7
    body = client.get(reverse("gridwork:tasks_list"), {"kind": "campaign"}).content.decode()
    assert mine in body and theirs not in body
    body = client.get(reverse("gridwork:tasks_list"), {"status": "draft"}).content.decode()
    assert mine not in body and theirs in body
    assert 'data-testid="new-task"' in body



def test_inspection_rounds_have_a_period_selector(client, grid_worker, handler, admitted_item,
                                                  tree, homes, reviewer):
    task = service.launch(handler, service.create_task(
        handler, kind="inspection", title="场所消防巡检", matter_id=admitted_item.pk,
        region_id=tree[DISTRICT].pk, target_kind="place", recurrence="monthly",
        target_filter={"place_kinds": ["school", "market"]}, starts_on=TODAY,
        fields=("fire_extinguishers_ok",)).pk)
    first = task.periods[0]
    next_month = (TODAY.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    assert launching.run_rounds(next_month) == 1
    task.refresh_from_db()
    second = task.periods[1]
    school = TaskTarget.objects.get(task=task, period=first, label="解放路小学")
    service.complete_target(grid_worker, school.pk, status="done",
                            result={"fire_extinguishers_ok": "yes"}, idempotency_key="r1")
    client.force_login(reviewer)
    latest = _page(client, task).content.decode()
    assert 'data-testid="period"' in latest and f'value="{second}" selected' in latest
    assert 'data-testid="total">2<' in latest and 'data-testid="done">0<' in latest
    assert "(market, school)" in latest  # the place kinds it covers
    earlier = _page(client, task, period=first).content.decode()
    assert 'data-testid="done">1<' in earlier and 'data-testid="percent">50.0%<' in earlier
    assert f"&amp;period={first}" in earlier  # drilling keeps the round
    assert _page(client, task, period="1999-01").status_code == 404
