"""The collection-form API under /api/v1/catalog/forms: forms, burden, to-do and answers."""

from __future__ import annotations

import pytest
from django.utils import translation

from tests.catalog.test_collection_support import (
    GRID1,
    GRID2,
    assert_masked,
    build_people,
    english_client,
    issued_form,
    spec,
    visits_dataset,
)
from wangge.accounts.services import issue_token
from wangge.catalog.collection import service
from wangge.catalog.models import FormTarget
from wangge.registry.models import SourceRecord

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_language():
    """Messages as a default (zh-hans) reader sees them: other modules' tests that override
    the language leave gettext deactivated behind them."""
    with translation.override("zh-hans"):
        yield
BASE = "/api/v1/catalog/forms"


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(tree, hukou, elderly_list):
    return build_people(tree, hukou, elderly_list)


@pytest.fixture
def visits(civil_affairs):
    return visits_dataset(civil_affairs)


def _post(c, url: str, data: dict, **extra):
    return c.post(url, data, content_type="application/json", **extra)


def _target(form, person) -> FormTarget:
    return FormTarget.objects.get(form=form, person=person)


def test_a_department_lists_its_forms_and_their_burden(people, visits, handler,
                                                       police_handler, grid_worker):
    form = issued_form(handler)
    c = english_client(handler)
    [item] = c.get(BASE).json()
    assert item["id"] == form.pk and item["status"] == "issued"
    assert item["burden"] == {"targets": 3, "fields_total": 12, "prefilled": 3, "asked": 9}
    assert item["saved_share"] == 0.25 and item["answered"] == 0
    burden = c.get(f"{BASE}/{form.pk}/burden").json()
    assert [(f["field"], f["prefilled"], f["asked"]) for f in burden["per_field"]] == [
        ("phone", 2, 1), ("sex", 1, 2), ("living_alone", 0, 3), ("health_note", 0, 3)]
    assert [(g["code"], g["targets"], g["answered"]) for g in burden["by_grid"]] == [
        (GRID1, 2, 0), (GRID2, 1, 0)]
    other = english_client(police_handler)
    assert other.get(BASE).json() == []
    assert other.get(f"{BASE}/{form.pk}/burden").status_code == 404
    assert english_client(grid_worker).get(BASE).status_code == 403


def test_a_drafts_burden_is_what_issuing_would_do(people, visits, handler):
    draft = service.create_form(handler, spec())
    burden = english_client(handler).get(f"{BASE}/{draft.pk}/burden").json()
    assert burden["status"] == "draft" and burden["burden"]["prefilled"] == 3


def test_a_grid_worker_reads_and_answers_through_the_api(people, visits, handler,
                                                         grid_worker, other_grid_worker):
    form = issued_form(handler)
    c = english_client(grid_worker)
    todo = c.get(f"{BASE}/todo").json()
    assert todo["count"] == 2 and todo["open"] == 2
    t1 = _target(form, people.p1)
    assert t1.pk in [i["id"] for i in todo["items"]]
    detail = c.get(f"{BASE}/targets/{t1.pk}").json()
    assert [(p["field"], p["display"], p["dataset"]) for p in detail["prefilled"]] == [
        ("phone", "138****5678", "ga-hukou"), ("sex", "男", "ga-hukou")]
    assert [a["field"] for a in detail["asked"]] == ["living_alone", "health_note"]
    assert detail["asked"][0]["choices"] == {"yes": "是", "no": "否"}
    url = f"{BASE}/targets/{t1.pk}/answer"
    body = {"values": {"health_note": "良好", "living_alone": "否"}}
    first = _post(c, url, body, HTTP_IDEMPOTENCY_KEY="app-1")
    assert first.status_code == 201 and first.json()["values"]["living_alone"] == "否"
    again = _post(c, url, body, HTTP_IDEMPOTENCY_KEY="app-1")
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert SourceRecord.objects.filter(dataset=visits).count() == 1
    twice = _post(c, url, body, HTTP_IDEMPOTENCY_KEY="app-2")
    assert twice.status_code == 409
    edit = _post(c, url, {**body, "edit": True}, HTTP_IDEMPOTENCY_KEY="app-3")
    assert edit.status_code == 200 and edit.json()["edited"] is True
    assert _post(english_client(other_grid_worker), url, body).status_code == 404
    assert_masked(str(todo) + str(detail) + first.content.decode())


def test_refusals_name_the_field(people, visits, handler, grid_worker):
    t1 = _target(issued_form(handler), people.p1)
    c = english_client(grid_worker)
    url = f"{BASE}/targets/{t1.pk}/answer"
    prefilled = _post(c, url, {"values": {"phone": "13700000000", "health_note": "良好",
                                          "living_alone": "否"}})
    assert prefilled.status_code == 409
    assert prefilled.json()["field"] == "phone"
    assert "phone is already known" in prefilled.json()["detail"]
    assert "户籍人口" in prefilled.json()["detail"]
    bad = _post(c, url, {"values": {"health_note": "良好", "living_alone": "maybe"}})
    assert bad.status_code == 422
    assert bad.json()["errors"]["living_alone"].startswith("lives alone: maybe")
    mismatch = _post(c, url, {"values": {"health_note": "良好", "living_alone": "否"},
                              "idempotency_key": "x"}, HTTP_IDEMPOTENCY_KEY="y")
    assert mismatch.status_code == 422
    assert not SourceRecord.objects.filter(dataset=visits).exists()


def test_a_token_without_a_forms_scope_is_refused(people, visits, handler, grid_worker):
    issued_form(handler)
    _, secret = issue_token(None, username=grid_worker.username, name="phone",
                            scopes=["catalog:lists"])
    answer = english_client().get(f"{BASE}/todo", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert answer.status_code == 403
