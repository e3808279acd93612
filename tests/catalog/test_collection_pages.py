"""Collection-form pages: a department builds, previews and issues; a grid worker fills in."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.utils import timezone, translation

from tests.catalog.test_collection_support import (
    VISITS_ITEM,
    WEST,
    assert_masked,
    build_people,
    english_client,
    issued_form,
    spec,
    visits_dataset,
)
from wangge.catalog.collection import service
from wangge.catalog.models import CollectionForm, FormStatus, FormTarget
from wangge.gridwork.models import MatterItem
from wangge.registry.models import SourceRecord

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_language():
    """Messages as a default (zh-hans) reader sees them: other modules' tests that override
    the language leave gettext deactivated behind them."""
    with translation.override("zh-hans"):
        yield
BASE = "/catalog/forms/"


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(tree, hukou, elderly_list):
    return build_people(tree, hukou, elderly_list)


@pytest.fixture
def visits(civil_affairs):
    return visits_dataset(civil_affairs)


def _build_post(**kw) -> dict:
    data = {"name": "独居老人走访", "dataset": "mz-visits",
            "fields": ["phone", "sex", "health_note", "living_alone"], "region": WEST,
            "target_tag": "elderly_alone", "target_dataset": "",
            "due_on": (timezone.localdate() + datetime.timedelta(days=7)).isoformat(),
            "matter": str(MatterItem.objects.get(name=VISITS_ITEM).pk)}
    data.update(kw)
    return data


def _testid(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>([^<]*)<', html)
    assert match, f"no {testid}"
    return match.group(1).strip()


def _target_of(form, person) -> FormTarget:
    return FormTarget.objects.get(form=form, person=person)


def test_a_department_builds_previews_and_issues_a_form(people, visits, handler):
    c = english_client(handler)
    page = c.get(BASE + "new/")
    assert page.status_code == 200 and 'value="mz-visits"' in page.content.decode()
    assert 'value="ga-hukou"' not in re.search(r'<select name="dataset".*?</select>',
                                               page.content.decode(), re.S).group(0)
    made = c.post(BASE + "new/", _build_post())
    form = CollectionForm.objects.get()
    assert made.status_code == 302 and made["Location"] == f"{BASE}{form.pk}/"
    draft = c.get(f"{BASE}{form.pk}/").content.decode()
    assert _testid(draft, "burden-prefilled") == "3" and _testid(draft, "burden-asked") == "9"
    assert _testid(draft, "status") == "draft"
    issued = c.post(f"{BASE}{form.pk}/issue/")
    assert issued.status_code == 302
    form.refresh_from_db()
    assert form.status == FormStatus.ISSUED
    report = c.get(f"{BASE}{form.pk}/").content.decode()
    assert _testid(report, "burden-total") == "12" and _testid(report, "burden-answered") \
        == "0 / 3"
    chart = json.loads(re.search(r'id="grid-chart-data"[^>]*>(.*?)</script>', report,
                                 re.S).group(1))
    assert chart["labels"] == ["西社区第一网格", "西社区第二网格"] and chart["open"] == [2, 1]
    assert "echarts.min.js" in report
    overview = c.get(BASE).content.decode()
    assert _testid(overview, "total-prefilled") == "3" and "25%" in overview
    assert_masked(draft + report + overview)


def test_a_refused_issue_points_to_the_dataset(people, visits, handler):
    form = service.create_form(handler, spec(fields=["name", "health_note"]))
    c = english_client(handler)
    preview = c.get(f"{BASE}{form.pk}/").content.decode()
    assert 'data-testid="preview-refusal"' in preview
    refused = c.post(f"{BASE}{form.pk}/issue/")
    assert refused.status_code == 409
    html = refused.content.decode()
    assert 'href="/catalog/datasets/ga-hukou/"' in html
    assert "full name is already held for all 3 persons" in html
    assert "户籍人口" in html and "历下公安分局" in html
    assert CollectionForm.objects.get().status == FormStatus.DRAFT
    assert_masked(html)


def test_bad_build_input_is_named(people, visits, handler):
    c = english_client(handler)
    past = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    page = c.post(BASE + "new/", _build_post(due_on=past, target_dataset="mz-elderly-alone"))
    assert page.status_code == 422
    html = page.content.decode()
    assert "is in the past" in html and "Choose whom to ask" in html
    assert not CollectionForm.objects.exists()


def test_only_the_owning_department_manages_a_form(people, visits, handler, police_handler,
                                                   grid_worker):
    form = service.create_form(handler, spec())
    other = english_client(police_handler)
    assert other.get(f"{BASE}{form.pk}/").status_code == 404
    assert other.post(f"{BASE}{form.pk}/issue/").status_code == 404
    assert other.get(f"{BASE}{form.pk}/edit/").status_code == 404
    assert CollectionForm.objects.get().status == FormStatus.DRAFT
    worker = english_client(grid_worker)
    assert worker.get(BASE + "new/").status_code == 403
    assert worker.get(BASE)["Location"] == BASE + "todo/"
    assert english_client(handler).get(BASE + "todo/").status_code == 403


def test_a_grid_worker_fills_in_only_what_is_asked(people, visits, handler, grid_worker,
                                                   other_grid_worker):
    form = issued_form(handler)
    c = english_client(grid_worker)
    todo = c.get(BASE + "todo/").content.decode()
    t1, t3 = _target_of(form, people.p1), _target_of(form, people.p3)
    assert re.findall(r'data-target="(\d+)"', todo) == sorted([str(t1.pk), str(t3.pk)])
    assert str(_target_of(form, people.p2).pk) not in re.findall(r'data-target="(\d+)"', todo)
    assert "2 persons still to visit" in todo
    page = c.get(f"{BASE}targets/{t1.pk}/").content.decode()
    assert "138****5678" in page and "户籍人口" in page
    inputs = set(re.findall(r'<(?:input|select|textarea)[^>]*name="([a-z_]+)"', page))
    assert {"health_note", "living_alone"} <= inputs
    assert not {"phone", "sex"} & inputs
    key = re.search(r'name="key" value="([0-9a-f]+)"', page).group(1)
    answer = {"key": key, "edit": "False", "health_note": "行动不便", "living_alone": "yes"}
    assert c.post(f"{BASE}targets/{t1.pk}/", answer).status_code == 302
    again = c.post(f"{BASE}targets/{t1.pk}/", answer)  # a double tap: nothing new
    assert again.status_code == 302
    assert SourceRecord.objects.filter(dataset=visits).count() == 1
    done = c.get(f"{BASE}targets/{t1.pk}/").content.decode()
    assert 'data-testid="answered"' in done and "行动不便" in done
    assert 'data-testid="edit-answer"' in done
    assert english_client(other_grid_worker).get(f"{BASE}targets/{t1.pk}/").status_code == 404
    assert_masked(todo + page + done)


def test_an_answer_is_changed_only_through_edit(people, visits, handler, grid_worker):
    t1 = _target_of(issued_form(handler), people.p1)
    c = english_client(grid_worker)
    url = f"{BASE}targets/{t1.pk}/"
    c.post(url, {"key": "a1", "edit": "False", "health_note": "良好", "living_alone": "no"})
    # A stale page (another key, no edit) does not overwrite the answer.
    stale = c.post(url, {"key": "a2", "edit": "False", "health_note": "差", "living_alone": "no"})
    assert stale.status_code == 409 and "Edit answer" in stale.content.decode()
    form_page = c.get(url + "?edit=1").content.decode()
    assert "Leave empty to keep the value given before." in form_page
    edited = c.post(url, {"key": "a3", "edit": "True", "health_note": "需要照护",
                          "living_alone": ""})
    assert edited.status_code == 302
    assert "需要照护" in c.get(url).content.decode()


def test_bad_values_and_prefilled_fields_are_named_on_the_page(people, visits, handler,
                                                               grid_worker):
    t1 = _target_of(issued_form(handler), people.p1)
    c = english_client(grid_worker)
    url = f"{BASE}targets/{t1.pk}/"
    bad = c.post(url, {"key": "b1", "edit": "False", "health_note": "良好",
                       "living_alone": "maybe"})
    assert bad.status_code == 422
    assert "lives alone: maybe is not one of" in bad.content.decode()
    # The page has no input for a pre-filled field: a crafted one is not taken.
    crafted = c.post(url, {"key": "b2", "edit": "False", "health_note": "良好",
                           "living_alone": "no", "phone": "13700000000"})
    assert crafted.status_code == 302
    row = SourceRecord.objects.get(dataset=visits)
    assert "phone" not in row.masked and row.masked["health_note"] == "良好"


def test_a_closed_form_shows_no_inputs(people, visits, handler, grid_worker):
    form = issued_form(handler)
    english_client(handler).post(f"{BASE}{form.pk}/close/")
    assert CollectionForm.objects.get().status == FormStatus.CLOSED
    t1 = _target_of(form, people.p1)
    page = english_client(grid_worker).get(f"{BASE}targets/{t1.pk}/").content.decode()
    assert 'data-testid="closed"' in page and 'data-testid="answer-form"' not in page
    assert "138****5678" in page  # still readable in its grid
