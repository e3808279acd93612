"""Reveal: permission, purpose and scope; every reveal and every refusal on the audit trail."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import Client

from tests.factories import make_user
from tests.privacy.testmodels import Resident
from wangge.accounts.models import ApiToken
from wangge.accounts.roles import TOKEN_SCOPES, Role
from wangge.audit.models import AuditRecord
from wangge.privacy import services

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
ID_NUMBER = "11010519491231002X"
WEST_GRID = "370102001001001"
SOUTH_GRID = "370102002001001"


@pytest.fixture
def west_resident(tree):
    return Resident.objects.create(label="west", region_path=tree[WEST_GRID].path, phone=PHONE,
                                   id_number=ID_NUMBER,
                                   address="解放路街道西社区阳光花园3号楼2单元501室")


@pytest.fixture
def south_resident(tree):
    return Resident.objects.create(label="south", region_path=tree[SOUTH_GRID].path,
                                   phone="13900000001")


@pytest.fixture
def grid_worker(tree):
    return make_user("gw_west", Role.GRID_WORKER, tree["370102001001"])


def _last(action: str) -> AuditRecord:
    return AuditRecord.objects.filter(action=action).order_by("-seq").first()


def test_values_are_masked_by_default_and_never_stored_in_clear(west_resident):
    row = Resident.objects.get(pk=west_resident.pk)
    assert row.phone == "138****5678"
    assert row.id_number == "1101**********002X"
    assert row.address == "解放路街道西社区阳光花园3号楼***"
    stored = json.dumps(list(Resident.objects.filter(pk=row.pk).values()), ensure_ascii=False)
    assert PHONE not in stored and ID_NUMBER not in stored and "501室" not in stored
    assert Resident.objects.filter(Resident.phone.lookup("+86 138-1234-5678")).get() == row
    assert not Resident.objects.filter(Resident.phone.lookup("garbage")).exists()


def test_a_bad_value_is_refused_naming_the_field(tree):
    with pytest.raises(ValidationError) as caught:
        Resident(label="x", region_path=tree[WEST_GRID].path, id_number="110105194912310021")
    assert caught.value.message_dict == {"id_number": ["the check digit should be X, not 1"]}


def test_grid_worker_reveals_for_a_purpose_and_it_is_audited(west_resident, grid_worker):
    value = services.reveal(grid_worker, west_resident, "phone", "visit", detail="入户走访")
    assert value == PHONE
    rec = _last("privacy.reveal")
    assert (rec.actor, rec.role, rec.object_type, rec.object_id) == (
        "gw_west", "grid_worker", "privacy.resident", str(west_resident.pk))
    assert rec.purpose == "visit: 入户走访"
    assert json.loads(rec.detail) == {"field": "phone", "kind": "phone", "masked": "138****5678"}
    assert PHONE not in rec.detail


def test_without_the_permission_the_reveal_is_refused_and_audited(west_resident, tree):
    admin = make_user("sysadmin", Role.ADMIN, None)
    with pytest.raises(PermissionDenied):
        services.reveal(admin, west_resident, "id_number", "visit")
    rec = _last("privacy.reveal_refused")
    assert rec.actor == "sysadmin" and rec.object_id == str(west_resident.pk)
    assert json.loads(rec.detail) == {"field": "id_number", "reason": "permission"}
    assert not AuditRecord.objects.filter(action="privacy.reveal").exists()


@pytest.mark.parametrize(("purpose", "detail", "field"), [
    ("", "", "purpose"),
    ("curiosity", "", "purpose"),
    ("other", "  ", "detail"),
    ("other", "x" * 201, "detail"),
])
def test_a_reveal_needs_a_declared_purpose(west_resident, grid_worker, purpose, detail, field):
    with pytest.raises(ValidationError) as caught:
        services.reveal(grid_worker, west_resident, "phone", purpose, detail=detail)
    assert list(caught.value.message_dict) == [field]
    rec = _last("privacy.reveal_refused")
    assert json.loads(rec.detail) == {"field": "phone", "reason": "invalid", "invalid": [field]}


def test_other_with_a_detail_is_a_purpose(west_resident, grid_worker):
    assert services.reveal(grid_worker, west_resident, "phone", "other",
                           detail="街道通知补录") == PHONE
    assert _last("privacy.reveal").purpose == "other: 街道通知补录"


def test_only_declared_fields_can_be_revealed(west_resident, grid_worker):
    with pytest.raises(ValidationError) as caught:
        services.reveal(grid_worker, west_resident, "label", "visit")
    assert list(caught.value.message_dict) == ["field"]


def test_out_of_scope_is_refused_like_missing_and_audited(south_resident, grid_worker):
    with pytest.raises(Http404):
        services.reveal(grid_worker, south_resident, "phone", "visit")
    rec = _last("privacy.reveal_refused")
    assert rec.object_id == str(south_resident.pk)
    assert json.loads(rec.detail)["reason"] == "scope"


def _post(client, **body):
    data = {"object_type": "privacy.resident", "field": "phone", "purpose": "case",
            "detail": "案件 2024-001", **body}
    return client.post("/api/v1/privacy/reveal", data=json.dumps(data),
                       content_type="application/json", REMOTE_ADDR="10.1.2.3")


def test_api_reveal(api_urls, west_resident, grid_worker):
    c = Client()
    c.force_login(grid_worker)
    resp = _post(c, object_id=str(west_resident.pk), field="id_number")
    assert resp.status_code == 200
    assert resp.json() == {"object_type": "privacy.resident", "object_id": str(west_resident.pk),
                           "field": "id_number", "value": ID_NUMBER,
                           "masked": "1101**********002X"}
    assert resp["Cache-Control"] == "no-store"
    rec = _last("privacy.reveal")
    assert rec.actor == "gw_west" and rec.client_ip == "10.1.2.3"
    assert rec.purpose == "case: 案件 2024-001"


def test_api_refusals(api_urls, west_resident, south_resident, grid_worker, tree):
    c = Client()
    c.force_login(grid_worker)
    assert _post(c, object_id=str(south_resident.pk)).status_code == 404
    assert _post(c, object_id="999999").status_code == 404
    assert _post(c, object_id="not-a-number").status_code == 404
    bad = _post(c, object_id=str(west_resident.pk), purpose="nosy")
    assert bad.status_code == 422 and list(bad.json()["errors"]) == ["purpose"]
    bad = _post(c, object_id=str(west_resident.pk), object_type="accounts.department")
    assert bad.status_code == 422 and list(bad.json()["errors"]) == ["object_type"]
    bad = _post(c, object_id=str(west_resident.pk), field="label")
    assert bad.status_code == 422 and list(bad.json()["errors"]) == ["field"]
    reasons = [json.loads(r.detail)["reason"]
               for r in AuditRecord.objects.filter(action="privacy.reveal_refused")]
    assert sorted(reasons) == ["invalid"] * 3 + ["scope"] * 3

    auditor = Client()
    auditor.force_login(make_user("aud", Role.AUDITOR, None))
    assert _post(auditor, object_id=str(west_resident.pk)).status_code == 403
    assert Client().post("/api/v1/privacy/reveal", data="{}",
                         content_type="application/json").status_code == 401


def _token_client(user, scopes):
    token, prefix, digest = ApiToken.new_secret()
    ApiToken.objects.create(user=user, name="app", prefix=prefix, digest=digest, scopes=scopes)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_an_api_token_needs_a_reveal_scope(api_urls, west_resident, grid_worker, monkeypatch):
    c = _token_client(grid_worker, ["cases:read"])
    assert _post(c, object_id=str(west_resident.pk)).status_code == 403
    assert _last("privacy.reveal_refused").actor == "gw_west"
    # With a scope granting privacy.reveal (roles.TOKEN_SCOPES declares none by default).
    monkeypatch.setitem(TOKEN_SCOPES, "privacy:reveal", "privacy.reveal")
    c = _token_client(grid_worker, ["privacy:reveal"])
    assert _post(c, object_id=str(west_resident.pk)).json()["value"] == PHONE


def test_a_value_that_does_not_open_is_a_named_error(api_urls, west_resident, grid_worker):
    Resident.objects.filter(pk=west_resident.pk).update(
        phone_cipher=west_resident.id_number_cipher)  # sealed for another purpose
    c = Client()
    c.force_login(grid_worker)
    resp = _post(c, object_id=str(west_resident.pk))
    assert resp.status_code == 500 and "field-key ring" in resp.json()["detail"]
    assert json.loads(_last("privacy.reveal_refused").detail)["reason"] == "undecryptable"
    assert not AuditRecord.objects.filter(action="privacy.reveal").exists()


def test_the_purposes_are_listed(api_urls, grid_worker):
    c = Client()
    c.force_login(grid_worker)
    items = c.get("/api/v1/privacy/purposes").json()["items"]  # Chinese by default
    assert {"code": "other", "label": "其他（请说明）", "needs_detail": True} in items
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the language switch
    english = c.get("/api/v1/privacy/purposes").json()["items"]
    assert {"code": "other", "label": "other (say what)", "needs_detail": True} in english
    assert {i["code"] for i in items} >= {"visit", "assistance", "case"}
