"""Tasks API: create behind the gate, launch, progress at a node, a node's targets, complete
with an idempotency key, reopen; refusals answer with their status and words."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from wangge.accounts.services import issue_token
from wangge.core.clock import today
from wangge.gridwork import service as matters
from wangge.gridwork.models import Task, TaskTarget

pytestmark = pytest.mark.django_db

API = "/api/v1/gridwork/tasks"
TODAY = today()
DISTRICT, STREET, W1 = "370102", "370102001", "370102001001001"


@pytest.fixture(autouse=True)
def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


def body(item, region, **kw) -> dict:
    data = {"kind": "campaign", "title": "燃气安全入户排查", "matter": item.pk,
            "region": region.pk, "target_kind": "household",
            "fields": ["residents_present", "gas_safety_hazard"],
            "starts_on": TODAY.isoformat(),
            "due_on": (TODAY + datetime.timedelta(days=20)).isoformat()}
    data.update(kw)
    return data


def post(client, url, data=None, **headers):
    return client.post(url, data or {}, content_type="application/json", headers=headers)


@pytest.fixture
def launched(client, grid_worker, handler, admitted_item, tree, homes):
    client.force_login(handler)
    created = post(client, f"{API}/", body(admitted_item, tree[DISTRICT]))
    assert created.status_code == 201
    pk = created.json()["id"]
    resp = post(client, f"{API}/{pk}/launch")
    assert resp.status_code == 200 and resp.json()["targets_total"] == 7
    return Task.objects.get(pk=pk)


def test_create_is_refused_for_an_item_not_on_the_list(client, handler, reviewer, tree,
                                                       admitted_item):
    pending = matters.apply(handler, matters.Application(
        name="出租屋核查", basis="《租赁条例》", duties="核查", frequency="monthly",
        fields=("residents_present",)))
    client.force_login(handler)
    resp = post(client, f"{API}/", body(pending, tree[DISTRICT], fields=["residents_present"]))
    assert resp.status_code == 422 and resp.json()["field"] == "matter"
    assert "not on the admitted grid matters list" in resp.json()["detail"]
    matters.decide(reviewer, pending.pk, "refuse", "不属于网格职责")
    resp = post(client, f"{API}/", body(pending, tree[DISTRICT], fields=["residents_present"]))
    assert resp.status_code == 422 and "refused" in resp.json()["detail"]
    resp = post(client, f"{API}/", body(admitted_item, tree[DISTRICT], fields=["shoe_size"]))
    assert resp.status_code == 422 and resp.json()["field"] == "fields"
    assert not Task.objects.exists()
    resp = post(client, f"{API}/", body(admitted_item, tree[DISTRICT]))
    assert resp.status_code == 201 and resp.json()["status"] == "draft"


def test_launch_progress_and_drill_down(client, launched, reviewer, tree):
    again = post(client, f"{API}/{launched.pk}/launch")
    assert again.status_code == 200 and TaskTarget.objects.filter(task=launched).count() == 7
    client.force_login(reviewer)
    top = client.get(f"{API}/{launched.pk}").json()["progress"]
    assert top["node"]["code"] == DISTRICT and top["node"]["total"] == 7
    assert [(c["code"], c["total"]) for c in top["children"]] == [(STREET, 6),
                                                                  ("370102002", 1)]
    grid = client.get(f"{API}/{launched.pk}", {"node": tree[W1].pk}).json()["progress"]
    assert [p["code"] for p in grid["path"]] == [DISTRICT, STREET, "370102001001", W1]
    assert sorted(t["label"] for t in grid["targets"]) == ["H-W1-1", "H-W1-2", "H-W1-3"]
    assert {t["assignee"] for t in grid["targets"]} == {"gw_west1"}
    targets = client.get(f"{API}/{launched.pk}/targets", {"node": tree[STREET].pk}).json()
    assert len(targets) == 6 and {t["status"] for t in targets} == {"pending"}
    outside = client.get(f"{API}/{launched.pk}", {"node": tree["3701"].pk})
    assert outside.status_code == 404


def test_complete_with_idempotency_key_retry_and_conflict(client, launched, grid_worker,
                                                          other_grid_worker, community_staff):
    target = TaskTarget.objects.get(task=launched, label="H-W1-1")
    url = f"{API}/targets/{target.pk}/complete"
    client.force_login(grid_worker)
    done = {"status": "done", "result": {"residents_present": "3", "gas_safety_hazard": "no"}}
    bad = post(client, url, {**done, "result": {"residents_present": "many"}},
               **{"Idempotency-Key": "phone-1"})
    assert bad.status_code == 422 and bad.json()["field"] == "residents_present"
    first = post(client, url, done, **{"Idempotency-Key": "phone-1"})
    assert first.status_code == 201 and first.json()["applied"] is True
    retry = post(client, url, done, **{"Idempotency-Key": "phone-1"})
    assert retry.status_code == 200 and retry.json()["replayed"] is True
    assert retry.json()["target"]["version"] == 1
    other = post(client, url, {**done, "idempotency_key": "phone-2"})
    assert other.status_code == 409 and "gw_west1" in other.json()["detail"]
    differ = post(client, url, {**done, "idempotency_key": "a"}, **{"Idempotency-Key": "b"})
    assert differ.status_code == 422
    assert post(client, url, {**done, "result": {}}).status_code == 422  # no key at all
    client.force_login(other_grid_worker)
    assert post(client, url, done, **{"Idempotency-Key": "x"}).status_code == 404
    # He sees the district's task as it concerns him: his own grid's progress.
    mine = client.get(f"{API}/{launched.pk}").json()["progress"]
    assert mine["node"]["code"] == "370102001001002" and mine["node"]["total"] == 2
    assert client.get(f"{API}/{launched.pk}", {"node": target.region_id}).status_code == 404
    # reopen: the worker may not, the community staff may (with a note)
    client.force_login(grid_worker)
    assert post(client, f"{API}/targets/{target.pk}/reopen", {"note": "错了"}).status_code \
        == 403
    client.force_login(community_staff)
    assert post(client, f"{API}/targets/{target.pk}/reopen", {"note": " "}).status_code == 422
    resp = post(client, f"{API}/targets/{target.pk}/reopen", {"note": "人数有误"})
    assert resp.status_code == 200 and resp.json()["status"] == "pending"


def test_list_filters_and_who_may_do_what(client, launched, handler, police_handler,
                                          grid_worker, admitted_item, tree):
    client.force_login(handler)
    assert [t["id"] for t in client.get(f"{API}/", {"status": "launched"}).json()] == [
        launched.pk]
    assert client.get(f"{API}/", {"status": "draft"}).json() == []
    assert client.get(f"{API}/", {"kind": "party"}).status_code == 422
    client.force_login(police_handler)
    assert client.get(f"{API}/").json() == []
    assert client.get(f"{API}/{launched.pk}").status_code == 404
    assert post(client, f"{API}/{launched.pk}/close").status_code == 404
    client.force_login(grid_worker)
    assert post(client, f"{API}/", body(admitted_item, tree[DISTRICT])).status_code == 403
    client.force_login(handler)
    closed = post(client, f"{API}/{launched.pk}/close", {"note": "排查结束"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert post(client, f"{API}/{launched.pk}/launch").status_code == 409
    refused = post(client, f"{API}/{launched.pk}/cancel")
    assert refused.status_code == 409 and "closed" in refused.json()["detail"]


def test_tokens_need_their_scope(launched, handler, grid_worker, admitted_item, tree):
    _, reader = issue_token(None, username=handler.username, name="dashboard",
                            scopes=["gridwork:read"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {reader}")
    assert api.get(f"{API}/{launched.pk}").status_code == 200
    assert post(api, f"{API}/", body(admitted_item, tree[DISTRICT])).status_code == 403
    _, sender = issue_token(None, username=handler.username, name="department system",
                            scopes=["gridwork:tasks"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {sender}")
    assert post(api, f"{API}/", body(admitted_item, tree[DISTRICT])).status_code == 201
    _, phone = issue_token(None, username=grid_worker.username, name="phone",
                           scopes=["gridwork:work"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {phone}")
    target = TaskTarget.objects.get(task=launched, label="H-W1-2")
    resp = post(api, f"{API}/targets/{target.pk}/complete",
                {"status": "unable", "note": "无人在家"}, **{"Idempotency-Key": "tok-1"})
    assert resp.status_code == 201 and resp.json()["target"]["status"] == "unable"
