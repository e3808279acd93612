"""Linkage pages, API and command as a steward meets them: masked, scoped, refused to others."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from tests.registry_factories import ID_A, ID_B, add_record, person_from
from wangge.audit.models import AuditRecord
from wangge.registry.linking import runs
from wangge.registry.models import (
    LinkDecision,
    LinkRun,
    Person,
    ReviewItem,
    ReviewStatus,
    SourceRecord,
)

from .linking_helpers import datasets

pytestmark = pytest.mark.django_db

GRID = "370102001001001"
# Clear values the rows below hold; none may appear on a page or in an API answer.
CLEAR = ("赵明远", "赵明达", "王丽华", "王莉华", ID_A, ID_B, "13800001111", "13900000001",
         "13900000002", "单元101室")
HOME = "山东省济南市历下区解放路街道西社区经十路1号1号楼1单元101室"


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def no_clear_values(text: str) -> None:
    leaked = [v for v in CLEAR if v in text]
    assert not leaked, leaked


@pytest.fixture
def grid(tree):
    return tree[GRID]


@pytest.fixture
def sources(police, civil_affairs, hukou, district):
    return datasets(police, civil_affairs, hukou, district)


@pytest.fixture
def pair(grid, sources):
    """A 民政 row and a 卫健 row the model was unsure about, each its own person."""
    a = add_record(sources["civil"], "c1", {"name": "赵明远", "id_number": ID_A,
                                            "phone": "13800001111", "address": HOME,
                                            "birth_date": "1985-03-07"}, region=grid)
    b = add_record(sources["health"], "w1", {"name": "赵明达", "birth_date": "1985/3/7",
                                             "address": HOME}, region=grid)
    person_from(a)
    person_from(b)
    item = ReviewItem.objects.create(
        record_a=a, record_b=b, probability=0.97, held_back="no agreement on the person: "
        "name, id_number", agreement={"name": "one character differs", "id_number": "missing",
                                      "birth_date": "exact", "sex": "missing",
                                      "contact": "address agrees"})
    return item


@pytest.fixture
def two_people(grid, sources):
    police = person_from(add_record(sources["police"], "h1", {
        "name": "王丽华", "id_number": ID_B, "phone": "13900000001"}, region=grid))
    civil = person_from(
        add_record(sources["civil"], "c9", {"name": "王莉华", "phone": "13900000002"},
                   region=grid),
        add_record(sources["civil"], "c10", {"name": "王莉华", "address": HOME}, region=grid))
    return police, civil


def test_pages_refused_to_everyone_but_stewards(client, pair, handler, grid_worker,
                                                community_staff):
    url = reverse("linkage:overview")
    assert client.get(url).status_code == 302  # sign in first
    for user in (handler, grid_worker, community_staff):
        c = client_for(user)
        for name in ("linkage:overview", "linkage:review", "linkage:conflicts",
                     "linkage:decisions"):
            assert c.get(reverse(name)).status_code == 403
        assert c.post(reverse("linkage:decide", args=[pair.pk]),
                      {"verdict": "same", "reason": "x"}).status_code == 403
        assert c.post(reverse("linkage:run_now")).status_code == 403
    assert ReviewItem.objects.get(pk=pair.pk).status == ReviewStatus.OPEN
    assert not LinkRun.objects.exists()


def test_overview_counts_and_run_now(pair, steward):
    c = client_for(steward)
    page = c.get(reverse("linkage:overview"))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-testid="queue">1<' in text and 'data-testid="no-runs"' in text
    answer = c.post(reverse("linkage:run_now"), follow=True)
    run = LinkRun.objects.get()
    assert run.status == "queued" and run.started_by == steward
    assert f"#{run.pk}" in answer.content.decode()
    c.post(reverse("linkage:run_now"))
    assert LinkRun.objects.count() == 1  # a double click queues one run
    status = c.get(reverse("linkage:run_status")).content.decode()
    assert 'data-status="queued"' in status and "hx-get" in status
    # The worker's job runs it; the page then shows its counts.
    assert runs.run_due() == 1
    text = c.get(reverse("linkage:overview")).content.decode()
    assert f'data-run="{run.pk}" data-status="done"' in text
    assert 'data-testid="live-run">' in text and "hx-get" not in text.split(
        'data-testid="live-run"')[1][:200]
    assert AuditRecord.objects.filter(action="registry.link_queued").count() == 1
    assert AuditRecord.objects.filter(action="registry.link_run").count() == 1
    no_clear_values(text)


def test_review_queue_shows_the_pair_masked_and_decides(pair, steward):
    c = client_for(steward)
    page = c.get(reverse("linkage:review"))
    text = page.content.decode()
    assert f'data-item="{pair.pk}"' in text
    assert "赵*远" in text and "赵*达" in text and "3701**********211X" in text
    assert "97%" in text and 'data-testid="held-back"' in text
    assert "lvl-partial" in text and "lvl-agree" in text  # name one char off; birth the same
    no_clear_values(text)
    # No reason: refused with a message, nothing decided.
    refused = c.post(reverse("linkage:decide", args=[pair.pk]), {"verdict": "same"},
                     follow=True)
    assert "reason" in refused.content.decode().lower() or "理由" in refused.content.decode()
    assert ReviewItem.objects.get(pk=pair.pk).status == ReviewStatus.OPEN
    answer = c.post(reverse("linkage:decide", args=[pair.pk]),
                    {"verdict": "same", "reason": "电话核实为同一人"})
    assert answer.status_code == 302
    item = ReviewItem.objects.get(pk=pair.pk)
    assert item.status == ReviewStatus.DECIDED
    assert SourceRecord.objects.get(pk=pair.record_a_id).person_id == (
        SourceRecord.objects.get(pk=pair.record_b_id).person_id)
    assert 'data-testid="empty"' in c.get(reverse("linkage:review")).content.decode()


def test_other_departments_steward_does_not_see_the_pair(pair, police_steward, tree,
                                                         steward):
    c = client_for(police_steward)
    assert f'data-item="{pair.pk}"' not in c.get(reverse("linkage:review")).content.decode()
    assert c.post(reverse("linkage:decide", args=[pair.pk]),
                  {"verdict": "same", "reason": "x"}).status_code == 404
    api = c.get("/api/v1/registry/linkage/review").json()
    assert api["count"] == 0
    assert c.post(f"/api/v1/registry/linkage/review/{pair.pk}/decide",
                  {"verdict": "same", "reason": "x"},
                  content_type="application/json").status_code == 404


def test_conflicts_page_marks_the_winner(grid, sources, steward):
    person_from(
        add_record(sources["police"], "h1", {"name": "王丽华", "id_number": ID_B,
                                             "phone": "13900000001"}, region=grid),
        add_record(sources["civil"], "c1", {"name": "王丽华", "phone": "13900000002"},
                   region=grid))
    text = client_for(steward).get(reverse("linkage:conflicts")).content.decode()
    assert 'data-field="phone"' in text
    winner = text.split('data-winner="1"')[1][:300]
    assert "139****0001" in winner and "户籍人口" in winner and "90" in winner
    no_clear_values(text)


def test_person_page_split_merge_and_revoke(two_people, steward, police_steward):
    police, civil = two_people
    c = client_for(steward)
    page = c.get(reverse("linkage:person", args=[civil.pk]))
    assert page.status_code == 200
    no_clear_values(page.content.decode())
    # 公安's person holds no row of 民政: not on 民政's steward's pages.
    assert c.get(reverse("linkage:person", args=[police.pk])).status_code == 404
    # A number that is not a person: said on the page.
    msg = c.post(reverse("linkage:merge", args=[civil.pk]),
                 {"other": "999999", "reason": "同一人"}, follow=True).content.decode()
    assert "999999" in msg
    c.post(reverse("linkage:merge", args=[civil.pk]), {"other": police.pk, "reason": "同一人"})
    assert SourceRecord.objects.filter(person=civil).count() == 3
    assert not Person.objects.filter(pk=police.pk).exists()
    decision = LinkDecision.objects.get()
    decisions = c.get(reverse("linkage:decisions")).content.decode()
    assert f'data-decision="{decision.pk}"' in decisions and "同一人" in decisions
    no_clear_values(decisions)
    c.post(reverse("linkage:revoke", args=[decision.pk]))
    assert SourceRecord.objects.filter(person_id=police.pk).count() == 1
    assert 'data-revoked="1"' in c.get(reverse("linkage:decisions")).content.decode()
    # Split one of 民政's two rows off.
    row = SourceRecord.objects.filter(person=civil).order_by("pk").last()
    c.post(reverse("linkage:split", args=[row.pk]), {"reason": "地址不同，非同一人"})
    assert SourceRecord.objects.get(pk=row.pk).person_id != civil.pk
    # The last row of a person can't be split off: said on the page.
    lone = SourceRecord.objects.get(person=civil)
    msg = c.post(reverse("linkage:split", args=[lone.pk]), {"reason": "再拆"},
                 follow=True).content.decode()
    assert 'class="error"' in msg
    assert SourceRecord.objects.get(pk=lone.pk).person_id == civil.pk


def test_api_for_stewards(pair, two_people, steward, handler):
    police, civil = two_people
    api = client_for(steward)
    listed = api.get("/api/v1/registry/linkage/review").json()
    assert listed["count"] == 1
    item = listed["items"][0]
    assert item["record_a"]["values"]["name"] == "赵*远"
    assert item["agreement"]["birth_date"] == "exact"
    no_clear_values(json.dumps(listed, ensure_ascii=False))
    bad = api.post(f"/api/v1/registry/linkage/review/{pair.pk}/decide",
                   {"verdict": "same", "reason": ""}, content_type="application/json")
    assert bad.status_code == 400
    done = api.post(f"/api/v1/registry/linkage/review/{pair.pk}/decide",
                    {"verdict": "apart", "reason": "两个人"}, content_type="application/json")
    assert done.status_code == 200 and done.json()["verdict"] == "apart"
    merged = api.post("/api/v1/registry/linkage/merge",
                      {"keep": civil.pk, "other": police.pk, "reason": "同一人"},
                      content_type="application/json")
    assert merged.status_code == 200 and merged.json()["removed"] is True
    again = api.post("/api/v1/registry/linkage/merge",
                     {"keep": civil.pk, "other": police.pk, "reason": "同一人"},
                     content_type="application/json")
    assert again.status_code == 404  # the merged person is gone
    revoked = api.post(f"/api/v1/registry/linkage/decisions/{merged.json()['decision']}"
                       "/revoke", content_type="application/json")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    row = SourceRecord.objects.filter(person=civil).order_by("pk").last()
    split = api.post("/api/v1/registry/linkage/split", {"record": row.pk, "reason": "误录"},
                     content_type="application/json")
    assert split.status_code == 200 and split.json()["person"] == civil.pk
    assert len(api.get("/api/v1/registry/linkage/decisions").json()) == 3
    queued = api.post("/api/v1/registry/linkage/runs", content_type="application/json")
    assert queued.status_code == 202 and queued.json()["queued"]
    status = api.get("/api/v1/registry/linkage/runs").json()
    assert status["live"]["status"] == "queued"
    conflicts = api.get("/api/v1/registry/linkage/conflicts").json()
    no_clear_values(json.dumps(conflicts, ensure_ascii=False))
    refused = client_for(handler)
    assert refused.get("/api/v1/registry/linkage/review").status_code == 403
    assert refused.post("/api/v1/registry/linkage/merge",
                        {"keep": civil.pk, "other": police.pk, "reason": "同一人"},
                        content_type="application/json").status_code == 403
    assert refused.post("/api/v1/registry/linkage/runs").status_code == 403


def test_command_links_and_refuses_a_second_run(grid, sources, two_people):
    add_record(sources["health"], "w5", {"name": "王丽华", "id_number": ID_B}, region=grid)
    out = StringIO()
    call_command("registry_link", stdout=out)
    text = out.getvalue()
    assert "attached 1 new row(s)" in text and "linkage run #" in text
    no_clear_values(text)
    LinkRun.objects.create(status="running")
    with pytest.raises(CommandError, match="another linkage run"):
        call_command("registry_link", stdout=StringIO())
    out = StringIO()
    call_command("registry_link", "--attach-only", stdout=out)
    assert out.getvalue().startswith("attached 0")
