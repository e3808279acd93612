"""Collection forms (采集表): what is pre-filled, what is asked, what is refused, and answers."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.utils import translation

from tests.catalog.test_collection_support import (
    GRID1,
    GRID2,
    build_people,
    issued_form,
    spec,
    visits_dataset,
    visits_item,
)
from tests.factories import make_user
from tests.registry_factories import add_record
from wangge.accounts.roles import Role
from wangge.audit.models import AuditRecord
from wangge.catalog.collection import fill, report, service
from wangge.catalog.collection.errors import FormError
from wangge.catalog.collection.prefill import local_day
from wangge.catalog.models import CollectionForm, FormStatus, FormTarget
from wangge.gridwork.models import MatterItem, MatterStatus
from wangge.registry import records
from wangge.registry.models import Person, SourceRecord
from wangge.registry.survivorship import refresh_person

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_language():
    """Messages as a default (zh-hans) reader sees them: other modules' tests that override
    the language leave gettext deactivated behind them."""
    with translation.override("zh-hans"):
        yield


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(tree, hukou, elderly_list):
    return build_people(tree, hukou, elderly_list)


@pytest.fixture
def visits(civil_affairs):
    return visits_dataset(civil_affairs)


def _targets(form) -> dict[int, FormTarget]:
    return {t.person_id: t for t in FormTarget.objects.filter(form=form)}


def _answer(user, target, values, **kw):
    return fill.submit_answer(user, target.pk, values, **kw)


# -- pre-fill and issue -------------------------------------------------------------------


def test_issue_prefills_what_the_registry_holds_and_asks_only_the_rest(people, visits, handler):
    form = issued_form(handler)
    assert form.status == FormStatus.ISSUED and form.issued_at is not None
    targets = _targets(form)
    assert set(targets) == {people.p1.pk, people.p2.pk, people.p3.pk}
    t1 = targets[people.p1.pk]
    assert set(t1.prefilled) == {"phone", "sex"}
    assert t1.prefilled["phone"]["display"] == "138****5678"
    assert t1.prefilled["phone"]["dataset"] == "ga-hukou"
    assert t1.prefilled["phone"]["observed_at"]
    assert t1.prefilled["sex"]["display"] == "男"
    assert t1.asked == ["living_alone", "health_note"]  # the catalogue's order
    assert t1.region.code == GRID1 and targets[people.p2.pk].region.code == GRID2
    assert targets[people.p2.pk].asked == ["sex", "living_alone", "health_note"]
    assert targets[people.p3.pk].asked == ["phone", "sex", "living_alone", "health_note"]
    assert form.burden == {"targets": 3, "fields_total": 12, "prefilled": 3, "asked": 9}
    audit = AuditRecord.objects.get(action="catalog.form.issue")
    assert audit.object_id == str(form.pk) and "138" not in audit.detail


def test_a_field_held_for_every_target_is_refused_with_a_pointer(people, visits, handler):
    form = service.create_form(handler, spec(fields=["name", "health_note"]))
    with pytest.raises(FormError) as refused:
        service.issue_form(handler, form.pk)
    error = refused.value
    assert error.status == 409
    [pointer] = error.pointers
    assert pointer["field"] == "name" and pointer["count"] == 3
    assert pointer["dataset"] == "ga-hukou" and pointer["url"] == "/catalog/datasets/ga-hukou/"
    for words in ("姓名", "3", "户籍人口", "历下公安分局", pointer["updated"]):
        assert words in error.message
    assert pointer["updated"] == local_day(people.p1.chosen["name"]["observed_at"])
    # Nothing was issued: the department removes the field and tries again.
    form.refresh_from_db()
    assert form.status == FormStatus.DRAFT and not FormTarget.objects.exists()
    service.update_form(handler, form.pk, spec(fields=["health_note"]))
    assert service.issue_form(handler, form.pk).form.status == FormStatus.ISSUED


def test_a_stale_value_is_asked_again(tree, hukou, elderly_list, visits, handler):
    # The phone (valid 365 days) was observed 400 days ago: not pre-filled, asked again.
    people = build_people(tree, hukou, elderly_list, phone_age_days=400)
    form = issued_form(handler, fields=["phone"], region=GRID2)
    [target] = FormTarget.objects.filter(form=form)
    assert target.person_id == people.p2.pk
    assert target.prefilled == {} and target.asked == ["phone"]


def test_a_protected_field_without_a_column_is_prefilled_masked(people, visits, handler):
    # 紧急联系人电话 has no column on the person: its mask comes from the chosen source row.
    row = add_record(visits, "v1", {"emergency_contact_phone": "13955556666"},
                     region=people.p1.region, person=people.p1)
    refresh_person(Person.objects.get(pk=people.p1.pk))
    form = issued_form(handler, fields=["emergency_contact_phone"])
    t1 = _targets(form)[people.p1.pk]
    assert t1.prefilled["emergency_contact_phone"]["display"] == row.masked[
        "emergency_contact_phone"] == "139****6666"
    assert _targets(form)[people.p2.pk].asked == ["emergency_contact_phone"]


def test_a_fresh_value_for_the_one_target_is_refused(people, visits, handler):
    form = service.create_form(handler, spec(fields=["phone"], region=GRID2))
    with pytest.raises(FormError) as refused:
        service.issue_form(handler, form.pk)
    assert refused.value.pointers[0]["count"] == 1
    assert "联系电话" in refused.value.message and "户籍人口" in refused.value.message


def test_a_form_with_nobody_to_ask_is_refused(people, visits, handler):
    form = service.create_form(handler, spec(region="370102001002"))  # 东社区: no elderly
    with pytest.raises(FormError) as refused:
        service.issue_form(handler, form.pk)
    assert refused.value.status == 422 and "东社区" in refused.value.message
    assert CollectionForm.objects.get(pk=form.pk).status == FormStatus.DRAFT


def test_issuing_twice_writes_once(people, visits, handler):
    form = issued_form(handler)
    again = service.issue_form(handler, form.pk)
    assert again.already and FormTarget.objects.filter(form=form).count() == 3
    assert AuditRecord.objects.filter(action="catalog.form.issue").count() == 1


def test_targets_by_a_readable_dataset(people, visits, steward, hukou):
    # 民政's steward cannot read 公安's register (conditional, no grant) but reads his own list.
    with pytest.raises(FormError) as refused:
        service.create_form(steward, spec(target_tag="", target_dataset="ga-hukou"))
    assert "target_dataset" in refused.value.errors
    form = issued_form(steward, target_tag="", target_dataset="mz-elderly-alone",
                       fields=["health_note"])
    assert FormTarget.objects.filter(form=form).count() == 3


def test_build_names_every_wrong_input(people, visits, handler, correction_tag):
    bad = spec(name=" ", dataset="ga-hukou", fields=["grid_code", "phone"], region="3701",
               target_tag="community_correction",
               due_on=spec().due_on.replace(year=2000))
    with pytest.raises(FormError) as refused:
        service.create_form(handler, bad)
    assert set(refused.value.errors) == {"name", "dataset", "fields", "region", "target_tag",
                                         "due_on"}
    assert "grid_code" in refused.value.errors["fields"]
    with pytest.raises(FormError) as both:
        service.create_form(handler, spec(target_dataset="mz-elderly-alone"))
    assert "target" in both.value.errors
    assert not CollectionForm.objects.exists()


# -- the gate: the grid matters list (网格事项准入清单) ----------------------------------------


def test_a_form_without_an_admitted_item_is_refused(people, visits, handler, police,
                                                    civil_affairs):
    with pytest.raises(FormError) as none:
        service.create_form(handler, spec(matter=None))
    assert "网格事项准入清单" in none.value.errors["matter"]
    others = visits_item(police, name="流动人口登记", fields=["phone"])
    with pytest.raises(FormError) as foreign:
        service.create_form(handler, spec(matter=others.pk))
    assert "其他部门" in foreign.value.errors["matter"] or "another" in \
        foreign.value.errors["matter"]
    refused = visits_item(civil_affairs, name="未准入事项", status=MatterStatus.REFUSED)
    with pytest.raises(FormError) as not_listed:
        service.create_form(handler, spec(matter=refused.pk))
    assert "matter" in not_listed.value.errors
    assert not CollectionForm.objects.exists()


def test_a_form_asks_only_what_its_item_collects(people, visits, handler, civil_affairs):
    narrow = visits_item(civil_affairs, name="健康随访", fields=["health_note"])
    with pytest.raises(FormError) as refused:
        service.create_form(handler, spec(matter=narrow.pk, fields=["health_note", "phone"]))
    assert "phone" in refused.value.errors["fields"] and "健康随访" in \
        refused.value.errors["fields"]
    form = service.create_form(handler, spec(matter=narrow.pk, fields=["health_note"]))
    assert form.matter == narrow


def test_issuing_checks_the_item_again(people, visits, handler):
    form = service.create_form(handler, spec())
    MatterItem.objects.filter(pk=form.matter_id).update(status=MatterStatus.EXITED)
    with pytest.raises(FormError) as refused:
        service.issue_form(handler, form.pk)
    assert refused.value.status == 409 and refused.value.field == "matter"
    assert not FormTarget.objects.filter(form=form).exists()
    assert CollectionForm.objects.get(pk=form.pk).status == FormStatus.DRAFT


def test_other_departments_form_is_not_manageable(people, visits, handler, police_handler,
                                                  grid_worker):
    form = service.create_form(handler, spec())
    with pytest.raises(Http404):
        service.get_manageable(police_handler, form.pk)
    with pytest.raises(Http404):
        service.issue_form(police_handler, form.pk)
    with pytest.raises(Http404):
        service.update_form(police_handler, form.pk, spec(name="改"))
    assert list(service.manageable_forms(police_handler)) == []
    with pytest.raises(PermissionDenied):
        service.create_form(grid_worker, spec())


# -- answers ------------------------------------------------------------------------------


def test_an_answer_writes_one_row_and_the_next_form_prefills_it(people, visits, handler,
                                                                grid_worker):
    form = issued_form(handler)
    t1 = _targets(form)[people.p1.pk]
    result = _answer(grid_worker, t1, {"health_note": "高血压，行动不便", "living_alone": "是"},
                     key="k-1")
    assert result.created and result.values == {"health_note": "高血压，行动不便",
                                                "living_alone": "是"}
    row = SourceRecord.objects.get(dataset=visits)
    assert row.key == f"form{form.pk}-p{people.p1.pk}"
    assert row.region.code == GRID1 and row.person_id == people.p1.pk
    assert records.open_values(row) == {"health_note": "高血压，行动不便", "living_alone": "yes"}
    person = Person.objects.get(pk=people.p1.pk)
    assert person.values["health_note"] == "高血压，行动不便"
    assert person.chosen["living_alone"]["dataset"] == "mz-visits"
    t1.refresh_from_db()
    assert t1.answered_by == grid_worker and t1.answered_at is not None
    audit = AuditRecord.objects.get(action="catalog.form.answer")
    assert "高血压" not in audit.detail and "health_note" in audit.detail
    # A new form now pre-fills the health note for p1 and asks only the others.
    second = issued_form(handler, name="健康复查", fields=["health_note"])
    targets = _targets(second)
    assert targets[people.p1.pk].prefilled["health_note"]["dataset"] == "mz-visits"
    assert targets[people.p1.pk].asked == []
    assert targets[people.p3.pk].asked == ["health_note"]


def test_a_value_for_a_prefilled_field_is_refused_naming_its_source(people, visits, handler,
                                                                    grid_worker):
    t1 = _targets(issued_form(handler))[people.p1.pk]
    with pytest.raises(FormError) as refused:
        _answer(grid_worker, t1, {"phone": "13700000000", "health_note": "良好",
                                  "living_alone": "否"})
    assert refused.value.status == 409 and refused.value.field == "phone"
    assert "联系电话" in refused.value.message and "户籍人口" in refused.value.message
    assert not SourceRecord.objects.filter(dataset=visits).exists()


def test_bad_values_are_named(people, visits, handler):
    t2 = _targets(issued_form(handler))[people.p2.pk]
    with pytest.raises(FormError) as refused:
        _answer(_worker_of(t2), t2,
                {"sex": "x", "living_alone": "maybe", "health_note": "", "shoe_size": "42"})
    errors = refused.value.errors
    assert refused.value.status == 422
    assert set(errors) == {"sex", "living_alone", "health_note", "shoe_size"}
    assert "是否独居" in errors["living_alone"] and "maybe" in errors["living_alone"]
    assert "健康状况" in errors["health_note"]
    assert not SourceRecord.objects.filter(dataset=visits).exists()


def _worker_of(target):
    """A grid worker of the target's grid."""
    return make_user(f"gw_{target.region.code}", Role.GRID_WORKER, target.region)


def test_a_retry_returns_the_first_answer_and_edits_are_explicit(people, visits, handler,
                                                                 grid_worker):
    t1 = _targets(issued_form(handler))[people.p1.pk]
    values = {"health_note": "良好", "living_alone": "否"}
    first = _answer(grid_worker, t1, values, key="retry-1")
    again = _answer(grid_worker, t1, values, key="retry-1")
    assert first.created and again.replayed and not again.created
    assert again.values == first.values
    assert SourceRecord.objects.filter(dataset=visits).count() == 1
    assert AuditRecord.objects.filter(action="catalog.form.answer").count() == 1
    # The same key with other values is not a retry.
    with pytest.raises(FormError) as reused:
        _answer(grid_worker, t1, {"health_note": "差", "living_alone": "否"}, key="retry-1")
    assert reused.value.status == 409
    # A second answer without "edit" is refused; with it, an empty field keeps its value.
    with pytest.raises(FormError) as twice:
        _answer(grid_worker, t1, {"health_note": "差", "living_alone": "否"}, key="other")
    assert twice.value.status == 409
    edited = _answer(grid_worker, t1, {"health_note": "需要照护", "living_alone": ""},
                     key="edit-1", edit=True)
    assert edited.edited and edited.values == {"health_note": "需要照护", "living_alone": "否"}
    assert SourceRecord.objects.filter(dataset=visits).count() == 1
    assert Person.objects.get(pk=people.p1.pk).values["health_note"] == "需要照护"
    assert AuditRecord.objects.filter(action="catalog.form.answer_edit").count() == 1


def test_a_grid_worker_sees_only_his_grids_targets(people, visits, handler, grid_worker,
                                                   other_grid_worker, community_staff):
    form = issued_form(handler)
    targets = _targets(form)
    mine = {t.person_id for t in fill.todo(grid_worker)}
    assert mine == {people.p1.pk, people.p3.pk}
    assert {t.person_id for t in fill.todo(other_grid_worker)} == {people.p2.pk}
    assert {t.person_id for t in fill.todo(community_staff)} == {people.p1.pk, people.p2.pk,
                                                                 people.p3.pk}
    with pytest.raises(Http404):
        _answer(other_grid_worker, targets[people.p1.pk], {"health_note": "良好"})
    with pytest.raises(PermissionDenied):
        fill.todo(handler)
    # Open targets come first.
    _answer(grid_worker, targets[people.p1.pk], {"health_note": "良好", "living_alone": "否"})
    assert [t.person_id for t in fill.todo(grid_worker)] == [people.p3.pk, people.p1.pk]


def test_a_closed_form_takes_no_answers(people, visits, handler, grid_worker):
    form = issued_form(handler)
    service.close_form(handler, form.pk)
    t1 = _targets(form)[people.p1.pk]
    with pytest.raises(FormError) as refused:
        _answer(grid_worker, t1, {"health_note": "良好", "living_alone": "否"})
    assert refused.value.status == 409
    assert list(fill.todo(grid_worker)) == []


def test_burden_figures_on_the_known_set(people, visits, handler, grid_worker):
    form = issued_form(handler)
    _answer(grid_worker, _targets(form)[people.p1.pk],
            {"health_note": "良好", "living_alone": "否"})
    figures = report.form_report(form)
    assert figures["burden"] == {"targets": 3, "fields_total": 12, "prefilled": 3, "asked": 9}
    assert figures["saved_share"] == 0.25 and figures["answered"] == 1
    assert [(f["field"], f["prefilled"], f["asked"]) for f in figures["per_field"]] == [
        ("phone", 2, 1), ("sex", 1, 2), ("living_alone", 0, 3), ("health_note", 0, 3)]
    assert [(g["code"], g["targets"], g["answered"], g["asked"]) for g in figures["by_grid"]] \
        == [(GRID1, 2, 1, 6), (GRID2, 1, 0, 3)]
    draft = service.create_form(handler, spec(name="草稿"))
    overview = report.overview(service.manageable_forms(handler))
    assert overview["totals"] == {"targets": 3, "fields_total": 12, "prefilled": 3,
                                  "asked": 9, "saved_share": 0.25}
    assert {r["form"].pk: r["answered"] for r in overview["rows"]} == {form.pk: 1,
                                                                       draft.pk: 0}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
def test_two_workers_answering_at_once_write_one_answer(tree, hukou, elderly_list,
                                                        civil_affairs, handler, grid_worker,
                                                        community_staff):
    people = build_people(tree, hukou, elderly_list)
    visits_dataset(civil_affairs)
    t1 = _targets(issued_form(handler))[people.p1.pk]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def answer(user, key):
        try:
            barrier.wait()
            _answer(user, t1, {"health_note": f"by {key}", "living_alone": "否"}, key=key)
            outcomes.append("written")
        except FormError as exc:
            outcomes.append(str(exc.status))
        finally:
            connection.close()

    threads = [threading.Thread(target=answer, args=(u, k))
               for u, k in ((grid_worker, "a"), (community_staff, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["409", "written"]
    assert SourceRecord.objects.filter(dataset__code="mz-visits").count() == 1
