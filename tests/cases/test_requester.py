"""反映人: a matter a resident raised, filed by a grid worker or the hotline, reaches her account
through her phone number's blind index; she follows it, is told when it closes, and rates it."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client

from tests.factories import make_user
from wangge.accounts.roles import Role
from wangge.accounts.services import create_account, set_phone
from wangge.audit.models import AuditRecord
from wangge.cases.services import CaseForbidden, CaseNotFound, get_case, transition
from wangge.cases.workflow import State
from wangge.notifications.models import Notification

pytestmark = pytest.mark.django_db

PHONE = "139 0531 0001"


@pytest.fixture
def resident(people):
    set_phone(people.resident, PHONE)
    people.resident.save()
    return people.resident


def test_the_account_keeps_the_phone_masked_and_indexed_never_in_clear(resident):
    row = type(resident).objects.filter(pk=resident.pk).values().get()
    assert row["phone_masked"] == "139****0001"
    assert len(row["phone_index"]) == 64
    assert not any("13905310001" in str(value) for value in row.values())


def test_a_grid_workers_report_with_her_number_is_hers_to_follow(people, resident, make_case):
    case = make_case(actor=people.grid_worker, contact_phone="+86 139-0531-0001")
    assert case.requester_id == resident.pk and case.reporter_id == people.grid_worker.pk
    assert get_case(resident, case.code).pk == case.pk
    with pytest.raises(CaseNotFound):
        get_case(people.other_resident, case.code)
    client = Client()
    client.force_login(resident)
    page = client.get("/cases/mine/").content.decode()
    assert case.code in page
    report = AuditRecord.objects.filter(action="cases.report").latest("id")
    assert json.loads(report.detail)["requester"] == resident.username
    assert "13905310001" not in str(report.detail)


def test_she_is_told_when_it_closes_and_rates_it(people, resident, make_case, flow):
    case = make_case(actor=people.grid_worker, contact_phone=PHONE)
    for action in ("register", "dispatch", "accept", "handle"):
        case = flow.act(case, action)
    case = flow.act(case, "verify", actor=people.staff)
    assert case.state == State.CLOSED
    told = Notification.objects.filter(user=resident, case=case)
    assert told.count() == 1 and case.code in told.get().subject
    # The grid worker who filed it may not rate it; another resident cannot even find it.
    with pytest.raises(CaseNotFound):
        transition(people.other_resident, case.pk, "rate", rating=5)
    with pytest.raises(CaseForbidden):
        transition(people.grid_worker, case.pk, "rate", rating=5)
    rated = transition(resident, case.pk, "rate", rating=5, comment="很快")
    assert rated.rating == 5


def test_no_link_when_the_number_is_unknown_or_shared_or_her_own_report(
        people, resident, make_case, tree):
    assert make_case(actor=people.grid_worker, contact_phone="13700000000").requester_id is None
    # Two residents with the same number: nobody can tell whose matter it is.
    twin = make_user("resident_twin", Role.RESIDENT, tree["370102001001001"])
    set_phone(twin, PHONE)
    twin.save()
    assert make_case(actor=people.grid_worker, contact_phone=PHONE).requester_id is None
    twin.delete()
    # A resident typing someone else's number does not hand her own report to them.
    other = make_case(actor=people.other_resident, contact_phone=PHONE)
    assert other.requester_id is None and other.reporter_id == people.other_resident.pk


def test_a_bad_phone_on_an_account_is_named(tree):
    with pytest.raises(ValidationError) as caught:
        create_account(None, username="r9", role=Role.RESIDENT, password="Correct-Horse-9",
                       region_code="370102001001001", phone="call me")
    assert "phone" in caught.value.message_dict
    assert not get_user_model().objects.filter(username="r9").exists()
