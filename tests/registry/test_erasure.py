"""Erasure as a workflow: request → steward's decision → carried out once, audited."""

from __future__ import annotations

import json
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from tests.factories import make_user
from tests.registry_factories import ID_A, ID_B, add_record, person_from
from wangge.accounts.roles import Role
from wangge.audit.models import AuditRecord
from wangge.audit.services import verify_chain
from wangge.catalog.models import CollectionForm, FormTarget
from wangge.registry import erasure
from wangge.registry.models import (
    ErasureRequest,
    ErasureStatus,
    Person,
    PersonStatus,
    PersonTag,
    SourceRecord,
)

pytestmark = pytest.mark.django_db

PHONE_A = "13812345678"
PHONE_B = "13900000002"


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def grid(tree):
    return tree["370102001001001"]


@pytest.fixture
def wang(grid, hukou, elderly_list):
    """王芳: in 公安's register and 民政's list (tagged 独居老人)."""
    a = add_record(hukou, "h-wang", {"name": "王芳", "id_number": ID_B, "phone": PHONE_B,
                                     "address": "历下区阳光花园3号楼2单元501室"}, region=grid)
    b = add_record(elderly_list, "e-wang", {"name": "王芳", "id_number": ID_B,
                                            "phone": "13900000009"}, region=grid)
    return person_from(a, b)


@pytest.fixture
def li(grid, hukou):
    """李四: someone else in the same grid, who must stay untouched."""
    return person_from(add_record(hukou, "h-li", {"name": "李四", "id_number": ID_A,
                                                  "phone": PHONE_A}, region=grid))


def ask(user, person, kind="anonymise", reason="本人已迁出，申请删除信息") -> Client:
    c = client_for(user)
    response = c.post(reverse("registry_privacy:erasure_new", args=[person.pk]),
                      {"kind": kind, "reason": reason})
    assert response.status_code == 302, response.content[:500]
    return c


def decide(user, req, decision="approve", note=""):
    return client_for(user).post(reverse("registry_privacy:erasure_decide", args=[req.pk]),
                                 {"decision": decision, "note": note})


def audit_text() -> str:
    return " ".join(AuditRecord.objects.values_list("detail", flat=True))


def test_anonymise_request_approved_empties_every_value(grid, grid_worker, steward, wang,
                                                        li):
    birth_year = wang.birth_year
    rows_before = SourceRecord.objects.count()
    ask(grid_worker, wang)
    req = ErasureRequest.objects.get()
    assert (req.status, req.kind, req.requested_by) == (ErasureStatus.PENDING, "anonymise",
                                                        grid_worker)
    # The steward sees it pending and approves it.
    page = client_for(steward).get(reverse("registry_privacy:erasure_list"))
    assert f'data-request="{req.pk}" data-status="pending"' in page.content.decode()
    response = decide(steward, req, note="核实属实")
    assert response.status_code == 302
    req.refresh_from_db()
    assert (req.status, req.decided_by, req.decision_note) == (
        ErasureStatus.APPROVED, steward, "核实属实")

    person = Person.objects.get(pk=wang.pk)
    assert person.status == PersonStatus.ANONYMISED
    for field in ("name", "id_number", "phone", "address"):
        for suffix in ("cipher", "index", "masked"):
            assert getattr(person, f"{field}_{suffix}") == "", f"{field}_{suffix}"
    assert person.values == {} and person.chosen == {} and not person.has_conflicts
    assert person.birth_year == birth_year == 1946  # kept as a statistic
    assert person.region == grid
    assert not PersonTag.objects.filter(person=person).exists()
    # Her source rows are husks: no values, no index, no key that could lead back to her.
    husks = SourceRecord.objects.filter(person=person)
    assert husks.count() == 2 and SourceRecord.objects.count() == rows_before
    for row in husks:
        assert (row.payload_cipher, row.masked, row.id_number_index, row.phone_index,
                row.name_index, row.row_hash) == ("", {}, "", "", "", "")
        assert row.key.startswith("erased-")
    assert not SourceRecord.objects.filter(Person.id_number.lookup(ID_B)).exists()
    # The neighbour is untouched.
    other = Person.objects.get(pk=li.pk)
    assert other.status == PersonStatus.ACTIVE and other.id_number == "3701**********211X"
    assert SourceRecord.objects.get(key="h-li").payload_cipher
    # Request, decision and execution are on the record, without any value.
    actions = list(AuditRecord.objects.order_by("seq").values_list("action", flat=True))
    for action in ("registry.erase_requested", "registry.erase_decided", "registry.erased"):
        assert actions.count(action) == 1, action
    erased = json.loads(AuditRecord.objects.get(action="registry.erased").detail)
    assert erased["source_rows"] == 2 and erased["tags"] == 1
    text = audit_text()
    assert ID_B not in text and PHONE_B not in text and "王芳" not in text
    assert verify_chain().ok


def test_refusal_needs_a_note_and_keeps_the_data(grid_worker, steward, wang):
    requester = ask(grid_worker, wang)
    req = ErasureRequest.objects.get()
    response = decide(steward, req, "refuse", "")
    assert response.status_code == 422
    with translation.override("zh-hans"):  # the page's language, as a reader gets it
        assert gettext("say why the request is refused") in response.content.decode()
    req.refresh_from_db()
    assert req.status == ErasureStatus.PENDING
    assert decide(steward, req, "refuse", "该人员仍在册，需保留").status_code == 302
    req.refresh_from_db()
    assert req.status == ErasureStatus.REFUSED
    person = Person.objects.get(pk=wang.pk)
    assert person.status == PersonStatus.ACTIVE and person.id_number_cipher
    # The requester reads the refusal and its note; approving afterwards is refused.
    page = requester.get(reverse("registry_privacy:erasure_detail", args=[req.pk]))
    assert "该人员仍在册，需保留" in page.content.decode()
    with pytest.raises(ValidationError) as refused:
        erasure.decide(steward, req.pk, True)
    assert "decision" in refused.value.message_dict
    assert AuditRecord.objects.filter(action="registry.erased").count() == 0


def test_steward_out_of_scope_gets_404(tree, grid_worker, wang, civil_affairs):
    ask(grid_worker, wang)
    req = ErasureRequest.objects.get()
    elsewhere = make_user("qfs_steward", Role.STEWARD, tree["370102002"], civil_affairs)
    c = client_for(elsewhere)
    assert c.get(reverse("registry_privacy:erasure_detail", args=[req.pk])).status_code == 404
    assert c.post(reverse("registry_privacy:erasure_decide", args=[req.pk]),
                  {"decision": "approve"}).status_code == 404
    assert f'data-request="{req.pk}"' not in c.get(
        reverse("registry_privacy:erasure_list")).content.decode()
    req.refresh_from_db()
    assert req.status == ErasureStatus.PENDING
    assert Person.objects.get(pk=wang.pk).status == PersonStatus.ACTIVE


def test_only_a_steward_decides(grid_worker, handler, community_staff, wang):
    ask(grid_worker, wang)
    req = ErasureRequest.objects.get()
    for user in (grid_worker, handler, community_staff):
        assert decide(user, req).status_code == 403, user.username
    req.refresh_from_db()
    assert req.status == ErasureStatus.PENDING
    # A handler may not even ask.
    c = client_for(handler)
    assert c.get(reverse("registry_privacy:erasure_new", args=[wang.pk])).status_code == 403


def test_requests_only_for_persons_in_scope(other_grid_worker, wang):
    c = client_for(other_grid_worker)  # the neighbouring grid's worker
    response = c.post(reverse("registry_privacy:erasure_new", args=[wang.pk]),
                      {"kind": "anonymise", "reason": "x"})
    assert response.status_code == 404
    assert not ErasureRequest.objects.exists()


def test_bad_request_is_named_and_a_retry_makes_no_second_request(grid_worker, wang):
    c = client_for(grid_worker)
    url = reverse("registry_privacy:erasure_new", args=[wang.pk])
    form = c.get(url).content.decode()
    assert "王*" in form and "3701**********0022" in form and ID_B not in form
    response = c.post(url, {"kind": "shred", "reason": ""})
    assert response.status_code == 422
    assert not ErasureRequest.objects.exists()
    assert c.post(url, {"kind": "delete", "reason": "重复录入"}).status_code == 302
    assert c.post(url, {"kind": "delete", "reason": "重复录入"}).status_code == 302
    assert ErasureRequest.objects.count() == 1
    assert AuditRecord.objects.filter(action="registry.erase_requested").count() == 1


def test_approving_twice_does_nothing_more(grid_worker, steward, wang):
    ask(grid_worker, wang)
    req = ErasureRequest.objects.get()
    assert decide(steward, req).status_code == 302
    first = Person.objects.get(pk=wang.pk).updated_at
    assert decide(steward, req).status_code == 302  # double click
    erasure.decide(steward, req.pk, True)  # a retry through the service
    assert AuditRecord.objects.filter(action="registry.erased").count() == 1
    assert AuditRecord.objects.filter(action="registry.erase_decided").count() == 1
    assert Person.objects.get(pk=wang.pk).updated_at == first


def test_a_steward_does_not_decide_his_own_request(steward, police_steward, wang):
    req, created = erasure.request_erasure(steward, wang.pk, "anonymise", "重复人员")
    assert created
    with pytest.raises(ValidationError) as refused:
        erasure.decide(steward, req.pk, True)
    assert "decision" in refused.value.message_dict
    detail = client_for(steward).get(reverse("registry_privacy:erasure_detail", args=[req.pk]))
    assert 'data-testid="decide"' not in detail.content.decode()
    erasure.decide(police_steward, req.pk, True)
    assert Person.objects.get(pk=wang.pk).status == PersonStatus.ANONYMISED


def test_anonymising_forgets_what_forms_prefilled_from_her_record(
        grid, grid_worker, steward, wang, elderly_list):
    form = CollectionForm.objects.create(name="独居老人走访登记", department=steward.department,
                                         dataset=elderly_list, fields=["phone", "living_alone"],
                                         region=grid, created_by=steward)
    target = FormTarget.objects.create(
        form=form, person=wang, region=grid, region_path=grid.path, asked=["living_alone"],
        prefilled={"phone": {"dataset": "ga-hukou", "observed_at": "2026-11-01",
                             "display": "139****0001"}})
    ask(grid_worker, wang)
    assert decide(steward, ErasureRequest.objects.get()).status_code == 302
    target.refresh_from_db()
    assert target.prefilled == {} and target.asked == ["living_alone"]  # the target stays
    assert "139****0001" not in json.dumps(list(FormTarget.objects.values("prefilled")))


def test_delete_refused_while_a_form_still_asks_about_the_person(
        grid, grid_worker, steward, wang, elderly_list):
    form = CollectionForm.objects.create(name="独居老人走访登记", department=steward.department,
                                         dataset=elderly_list, fields=["living_alone"],
                                         region=grid, created_by=steward)
    target = FormTarget.objects.create(form=form, person=wang, region=grid,
                                       region_path=grid.path)
    ask(grid_worker, wang, kind="delete")
    req = ErasureRequest.objects.get()
    response = decide(steward, req)
    assert response.status_code == 422
    assert "独居老人走访登记" in response.content.decode()
    req.refresh_from_db()
    assert req.status == ErasureStatus.PENDING
    assert Person.objects.filter(pk=wang.pk).exists()
    assert SourceRecord.objects.filter(person=wang).count() == 2
    # Once the form no longer asks about her, the deletion goes through.
    target.delete()
    assert decide(steward, req).status_code == 302
    req.refresh_from_db()
    assert req.status == ErasureStatus.APPROVED and req.person is None
    assert not Person.objects.filter(pk=wang.pk).exists()
    assert not SourceRecord.objects.filter(key__in=["h-wang", "e-wang"]).exists()
    assert not PersonTag.objects.filter(person_id=wang.pk).exists()
    erased = json.loads(AuditRecord.objects.get(action="registry.erased").detail)
    assert erased["kind"] == "delete" and erased["source_rows"] == 2


def test_requests_listed_pending_first(grid_worker, steward, wang, li):
    first, _ = erasure.request_erasure(grid_worker, wang.pk, "anonymise", "迁出")
    erasure.decide(steward, first.pk, False, "不符合条件")
    second, _ = erasure.request_erasure(grid_worker, li.pk, "anonymise", "迁出")
    listed = list(erasure.requests_to_decide(steward))
    assert [r.pk for r in listed] == [second.pk, first.pk]
    # The requester sees his own; nobody without a stake reads a request.
    assert [r.pk for r in erasure.requests_of(grid_worker)] == [second.pk, first.pk]
    outsider = make_user("someone", Role.GRID_WORKER, wang.region)
    with pytest.raises(Http404):
        erasure.get_request_or_404(outsider, first.pk)


def _at_once(workers: int, work) -> list[BaseException]:
    """Run ``work(i)`` in ``workers`` threads released together; the errors they raised."""
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except BaseException as exc:  # reported by the caller, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_two_stewards_approving_at_once_carry_it_out_once(tree, grid_worker, steward,
                                                          police_steward, wang):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("threads cannot share SQLite's in-memory test database")
    req, _ = erasure.request_erasure(grid_worker, wang.pk, "anonymise", "迁出")
    stewards = [steward, police_steward]
    errors = _at_once(2, lambda i: erasure.decide(stewards[i], req.pk, True, ""))
    assert errors == []
    assert AuditRecord.objects.filter(action="registry.erased").count() == 1
    assert ErasureRequest.objects.get(pk=req.pk).status == ErasureStatus.APPROVED
    assert verify_chain().ok
