"""Collection forms (采集表) on the grid worker's day page: her grid's persons to answer, inline
inputs only for non-personal fields, and answers sent through the offline outbox (sync) —
applied once, replayed on retry, a conflict when someone answered first, refused on a bad
value."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import translation

from tests.catalog.test_collection_support import (
    CLEAR_VALUES,
    GRID1,
    assert_masked,
    build_people,
    issued_form,
    visits_dataset,
)
from tests.factories import make_user
from tests.registry_fixtures import elderly_list, elderly_tag, hukou  # noqa: F401 — fixtures
from wangge.accounts.roles import Role
from wangge.accounts.services import issue_token
from wangge.audit.models import AuditRecord
from wangge.catalog.collection import fill, report
from wangge.catalog.fields import get_field
from wangge.catalog.models import FormTarget
from wangge.gridwork.day.service import today
from wangge.gridwork.day.sync import open_problems, sync
from wangge.gridwork.models import SyncReceipt
from wangge.registry import records
from wangge.registry.models import SourceRecord

pytestmark = pytest.mark.django_db

ANSWER = {"health_note": "血压偏高，按时服药", "living_alone": "yes"}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(tree, hukou, elderly_list):  # noqa: F811 — the imported fixtures
    return build_people(tree, hukou, elderly_list)


@pytest.fixture
def form(people, civil_affairs, handler):
    """民政局's issued 独居老人走访 form over the west community: p1 (grid 1) is asked only
    health_note and living_alone (phone and sex are pre-filled from 户籍); p3 (grid 1) is
    asked the phone too; p2 is in grid 2."""
    visits_dataset(civil_affairs)
    return issued_form(handler)


def target_of(form, person) -> FormTarget:
    return FormTarget.objects.get(form=form, person=person)


def item(target, key="k-form-p1-000001", values=None) -> dict:
    return {"key": key, "kind": "form", "label": "独居老人走访 · 张*明",
            "payload": {"target": target.pk, "result": dict(values or ANSWER)}}


def rows(form) -> int:
    return SourceRecord.objects.filter(dataset_id=form.dataset_id).count()


def page_of(user) -> str:
    c = Client()
    c.force_login(user)
    c.cookies["django_language"] = "en"
    response = c.get("/gridwork/day/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


# -- the page --------------------------------------------------------------------------------


def test_day_lists_own_grids_form_targets_with_inline_inputs_only_when_not_personal(
        form, people, grid_worker, other_grid_worker):
    t1, t2, t3 = (target_of(form, p) for p in (people.p1, people.p2, people.p3))
    assert sorted(t1.asked) == ["health_note", "living_alone"] and "phone" in t3.asked
    html = page_of(grid_worker)
    assert 'data-testid="count-forms">2<' in html
    assert f'data-testid="form-target-{t1.pk}"' in html
    assert f'data-testid="form-target-{t3.pk}"' in html
    assert f'data-testid="form-target-{t2.pk}"' not in html  # grid 2's person
    assert "独居老人走访" in html and "民政局" in html
    # p1: inline inputs for what is asked, nothing for what is pre-filled.
    assert f'data-testid="form-quick-{t1.pk}"' in html and 'data-kind="form"' in html
    assert 'name="r.health_note"' in html and 'name="r.living_alone"' in html
    assert 'name="r.phone"' not in html and 'name="r.sex"' not in html
    # p3 is asked a phone: only a link to the target's own page, no input kept on a phone.
    assert f'data-testid="form-quick-{t3.pk}"' not in html
    assert f'data-testid="form-protected-{t3.pk}"' in html
    assert f'href="/catalog/forms/targets/{t3.pk}/"' in html
    assert_masked(html)
    other = page_of(other_grid_worker)
    assert f'data-testid="form-target-{t2.pk}"' in other
    assert f'data-testid="form-target-{t1.pk}"' not in other
    assert 'data-testid="count-forms">1<' in other


def test_an_answered_target_leaves_the_day(form, people, grid_worker):
    t1 = target_of(form, people.p1)
    fill.submit_answer(grid_worker, t1.pk, ANSWER, key="answered-online-1")
    day = today(grid_worker)
    shown = [it.target.pk for g in day.form_groups for it in g.items]
    assert t1.pk not in shown and day.forms_total == 1 == day.forms_shown


def test_no_forms_section_entries_for_an_account_that_does_not_fill(form, people, tree):
    staff = make_user("west_staff", Role.STAFF, tree["370102001001"])
    assert today(staff).forms_total == 3  # community staff fill forms in their subtree
    html = page_of(make_user("gw_elsewhere", Role.GRID_WORKER, tree["370102001002001"]))
    assert 'data-testid="count-forms">0<' in html and 'data-testid="no-forms"' in html


# -- sync ------------------------------------------------------------------------------------


def test_sync_answers_once_and_a_retry_is_replayed(form, people, grid_worker):
    t1 = target_of(form, people.p1)
    first = sync(grid_worker, [item(t1)])[0]
    assert first.outcome == "applied" and not first.replayed
    assert first.detail["form_target"] == t1.pk
    # The answer was lost on the way back: the phone sends the same key again, twice.
    again = sync(grid_worker, [item(t1), item(t1)])
    assert [r.replayed for r in again] == [True, True]
    assert all(r.outcome == "applied" for r in again)
    assert rows(form) == 1
    assert AuditRecord.objects.filter(action="catalog.form.answer").count() == 1
    assert SyncReceipt.objects.filter(user=grid_worker, kind="form").count() == 1
    t1.refresh_from_db()
    assert t1.answered_by == grid_worker and t1.idempotency_key.endswith("k-form-p1-000001")
    row = fill.answer_record(t1)
    assert records.open_values(row)["health_note"] == ANSWER["health_note"]
    assert records.open_values(row)["living_alone"] == "yes"
    # The department's report sees it.
    figures = report.form_report(form)
    assert figures["answered"] == 1 and figures["open"] == 2
    grid1 = next(g for g in figures["by_grid"] if g["code"] == GRID1)
    assert grid1["answered"] == 1 and grid1["targets"] == 2


def test_a_new_key_for_an_answered_target_is_a_conflict_not_a_second_answer(
        form, people, grid_worker, tree):
    t1 = target_of(form, people.p1)
    colleague = make_user("gw_west1_b", Role.GRID_WORKER, tree[GRID1])
    fill.submit_answer(colleague, t1.pk, {"health_note": "身体尚可", "living_alone": "no"},
                       key="colleague-online-1")
    receipt = sync(grid_worker, [item(t1)])[0]
    assert receipt.outcome == "conflict" and "Already answered by" in receipt.message
    assert rows(form) == 1
    assert records.open_values(fill.answer_record(t1))["health_note"] == "身体尚可"
    kept = list(open_problems(grid_worker))
    assert [p.kind for p in kept] == ["form"] and kept[0].outcome == "conflict"
    # Sent again (a retry): the same conflict, replayed, still nothing written.
    again = sync(grid_worker, [item(t1)])[0]
    assert again.outcome == "conflict" and again.replayed and rows(form) == 1


def test_a_bad_value_is_refused_naming_the_field(form, people, grid_worker):
    t1 = target_of(form, people.p1)
    receipt = sync(grid_worker, [item(t1, values={"health_note": "良好",
                                                  "living_alone": "maybe"})])[0]
    assert receipt.outcome == "refused"
    assert receipt.detail["field"] == "living_alone"
    assert receipt.message.startswith(f"{get_field('living_alone').label}: ")
    missing = sync(grid_worker, [item(t1, key="k-form-p1-000002",
                                      values={"living_alone": "no"})])[0]
    assert missing.outcome == "refused" and missing.detail["field"] == "health_note"
    t1.refresh_from_db()
    assert t1.answered_at is None and rows(form) == 0
    # Corrected, with a new key: applied.
    fixed = sync(grid_worker, [item(t1, key="k-form-p1-000003")])[0]
    assert fixed.outcome == "applied" and rows(form) == 1


def test_another_grids_target_or_a_bad_item_is_refused(form, people, grid_worker):
    t2 = target_of(form, people.p2)  # grid 2
    receipts = sync(grid_worker, [
        item(t2, key="k-form-p2-000001"),
        {"key": "k-form-bad-00001", "kind": "form", "payload": {"target": "x"}},
        {"key": "k-form-bad-00002", "kind": "form",
         "payload": {"target": t2.pk, "result": "yes"}},
    ])
    assert [r.outcome for r in receipts] == ["refused"] * 3
    assert receipts[0].message == "No such form target in your area."
    assert [r.detail["field"] for r in receipts[1:]] == ["target", "result"]
    assert FormTarget.objects.filter(form=form, answered_at__isnull=False).count() == 0


def test_a_plain_form_post_answers_through_sync(form, people, grid_worker):
    t1 = target_of(form, people.p1)
    c = Client()
    c.force_login(grid_worker)
    post = {"kind": "form", "key": f"f{t1.pk}-0123456789abcdef", "label": "走访",
            "p.target": t1.pk, "r.health_note": "良好", "r.living_alone": "no"}
    assert c.post("/gridwork/day/submit/", post).status_code == 302
    assert c.post("/gridwork/day/submit/", post).status_code == 302  # double tap
    t1.refresh_from_db()
    assert t1.answered_by == grid_worker and rows(form) == 1


def test_the_token_api_needs_the_fill_scope_too(form, people, grid_worker):
    t1 = target_of(form, people.p1)
    _, work_only = issue_token(None, username=grid_worker.username, name="phone",
                               scopes=["gridwork:work"])
    body = json.dumps({"items": [item(t1)]})
    listed = Client(HTTP_AUTHORIZATION=f"Bearer {work_only}").get(
        "/api/v1/gridwork/day/today").json()
    assert listed["form_targets"] == [] and listed["forms_total"] == 0
    answer = Client(HTTP_AUTHORIZATION=f"Bearer {work_only}").post(
        "/api/v1/gridwork/day/sync", body, content_type="application/json")
    assert answer.status_code == 200
    assert answer.json()["receipts"][0]["outcome"] == "refused"
    _, both = issue_token(None, username=grid_worker.username, name="phone2",
                          scopes=["gridwork:work", "catalog:fill"])
    listed = Client(HTTP_AUTHORIZATION=f"Bearer {both}").get(
        "/api/v1/gridwork/day/today").json()
    assert t1.pk in [f["id"] for f in listed["form_targets"]]
    assert not [v for v in CLEAR_VALUES if v in json.dumps(listed, ensure_ascii=False)]
    item2 = item(t1, key="k-form-p1-api-02")
    answer = Client(HTTP_AUTHORIZATION=f"Bearer {both}").post(
        "/api/v1/gridwork/day/sync", json.dumps({"items": [item2]}),
        content_type="application/json")
    assert answer.json()["receipts"][0]["outcome"] == "applied" and rows(form) == 1
