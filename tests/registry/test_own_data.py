"""A resident's own data: only her records, masked on the page, in clear in her audited export;
and her erasure request from there."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import make_user
from tests.registry_factories import ID_A, ID_B, ID_C, add_record, person_from
from wangge.accounts.roles import Role
from wangge.accounts.services import set_phone
from wangge.audit.models import AuditRecord
from wangge.registry import erasure
from wangge.registry.models import ErasureRequest, Person, PersonStatus

pytestmark = pytest.mark.django_db

HER_PHONE = "13905310001"
OTHER_PHONE = "13905310002"


def resident(username: str, phone: str | None, region=None):
    user = make_user(username, Role.RESIDENT, region)
    if phone:
        set_phone(user, phone)
        user.save()
    return user


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def grid(tree):
    return tree["370102001001001"]


@pytest.fixture
def her(grid, hukou, elderly_list):
    """Her record: 公安's register and 民政's list, with her phone."""
    a = add_record(hukou, "h-her", {"name": "王芳", "id_number": ID_B, "phone": HER_PHONE,
                                    "address": "历下区阳光花园3号楼2单元501室",
                                    "birth_date": "1946-07-15"}, region=grid)
    b = add_record(elderly_list, "e-her", {"name": "王芳", "id_number": ID_B,
                                           "phone": HER_PHONE}, region=grid)
    return person_from(a, b)


@pytest.fixture
def neighbour(grid, hukou):
    return person_from(add_record(hukou, "h-nb", {"name": "李建国", "id_number": ID_A,
                                                  "phone": OTHER_PHONE,
                                                  "address": "历下区阳光花园5号楼1单元101室"},
                                  region=grid))


@pytest.fixture
def wang_fang(grid):
    return resident("wangfang", HER_PHONE, grid)


def test_page_shows_her_records_masked_and_nobody_elses(wang_fang, her, neighbour):
    response = client_for(wang_fang).get(reverse("registry_privacy:me"))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('data-testid="own-record"') == 1
    assert f'data-person="{her.pk}"' in page and f'data-person="{neighbour.pk}"' not in page
    assert "王*" in page and "3701**********0022" in page and "139****0001" in page
    # From whom and since when: both departments' datasets.
    assert "户籍人口" in page and "历下公安分局" in page
    assert "独居老人名单" in page and "历下区民政局" in page
    # How the match is made is said on the page.
    assert 'data-testid="match-rule"' in page and "139****0001" in page
    # Nothing in clear, nothing of the neighbour.
    for clear in (ID_B, HER_PHONE, "王芳", "2单元501室", ID_A, OTHER_PHONE, "李*国"):
        assert clear not in page, clear


def test_export_holds_her_clear_values_with_provenance_and_is_audited(wang_fang, her,
                                                                        neighbour):
    c = client_for(wang_fang)
    assert c.get(reverse("registry_privacy:me_export")).status_code == 405
    response = c.post(reverse("registry_privacy:me_export"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "no-store"
    data = json.loads(response.content)
    assert data["matched_by"] == "phone"
    assert [p["id"] for p in data["persons"]] == [her.pk]
    person = data["persons"][0]
    assert person["values"]["id_number"] == ID_B and person["values"]["name"] == "王芳"
    assert person["values"]["phone"] == HER_PHONE and person["values"]["birth_year"] == 1946
    assert person["chosen_from"]["name"]["dataset"] == "ga-hukou"
    sources = {s["dataset"]: s for s in person["sources"]}
    assert set(sources) == {"ga-hukou", "mz-elderly-alone"}
    assert sources["ga-hukou"]["department"] == "历下公安分局"
    assert sources["ga-hukou"]["values"]["address"] == "历下区阳光花园3号楼2单元501室"
    assert sources["mz-elderly-alone"]["observed_at"]
    text = response.content.decode()
    assert ID_A not in text and OTHER_PHONE not in text and "李建国" not in text
    audit = AuditRecord.objects.get(action="registry.own_export")
    assert audit.actor_id == wang_fang.pk and audit.object_id == str(wang_fang.pk)
    detail = json.loads(audit.detail)
    assert detail == {"matched_by": "phone", "persons": 1, "source_rows": 2}


def test_another_residents_data_never_appears(grid, her, neighbour):
    other = resident("lijianguo", OTHER_PHONE, grid)
    c = client_for(other)
    page = c.get(reverse("registry_privacy:me")).content.decode()
    assert f'data-person="{neighbour.pk}"' in page and f'data-person="{her.pk}"' not in page
    data = json.loads(c.post(reverse("registry_privacy:me_export")).content)
    assert [p["id"] for p in data["persons"]] == [neighbour.pk]
    assert ID_B not in json.dumps(data, ensure_ascii=False)
    # She cannot ask to erase someone else's record.
    response = c.post(reverse("registry_privacy:me_erase"),
                      {"person": her.pk, "kind": "delete", "reason": "不是我"})
    assert response.status_code == 404
    assert not ErasureRequest.objects.exists()


def test_without_a_phone_nothing_matches(grid, her):
    nobody = resident("nophone", None, grid)
    page = client_for(nobody).get(reverse("registry_privacy:me")).content.decode()
    assert 'data-testid="no-records"' in page and f'data-person="{her.pk}"' not in page
    data = json.loads(client_for(nobody).post(reverse("registry_privacy:me_export")).content)
    assert data["persons"] == []


def test_only_residents_have_own_data_pages(grid_worker, steward, her):
    for user in (grid_worker, steward):
        c = client_for(user)
        assert c.get(reverse("registry_privacy:me")).status_code == 403
        assert c.post(reverse("registry_privacy:me_export")).status_code == 403
    assert Client().get(reverse("registry_privacy:me")).status_code == 302  # log in first
    assert not AuditRecord.objects.filter(action="registry.own_export").exists()


def test_she_asks_for_erasure_and_a_steward_carries_it_out(wang_fang, her, steward, grid):
    c = client_for(wang_fang)
    url = reverse("registry_privacy:me_erase")
    bad = c.post(url, {"person": her.pk, "kind": "anonymise", "reason": ""})
    assert bad.status_code == 422 and 'data-testid="own-record"' in bad.content.decode()
    assert c.post(url, {"person": her.pk, "kind": "anonymise",
                        "reason": "我已搬离本市，请删除我的信息"}).status_code == 302
    req = ErasureRequest.objects.get()
    assert req.requested_by == wang_fang and req.person == her
    page = c.get(reverse("registry_privacy:me")).content.decode()
    assert 'data-testid="my-requests"' in page and 'data-status="pending"' in page
    # Her request reaches the steward of her area; another resident cannot read it.
    assert req in erasure.requests_to_decide(steward)
    other = resident("someone", "13905310003", grid)
    assert client_for(other).get(
        reverse("registry_privacy:erasure_detail", args=[req.pk])).status_code == 404
    erasure.decide(steward, req.pk, True, "已核实")
    assert Person.objects.get(pk=her.pk).status == PersonStatus.ANONYMISED
    # Anonymised, the record has no phone any more: her page no longer shows it.
    page = c.get(reverse("registry_privacy:me")).content.decode()
    assert 'data-testid="no-records"' in page
    assert 'data-status="approved"' in page


def test_same_phone_on_someone_elses_record_is_not_confused_with_another_number(
        grid, hukou, wang_fang, her):
    # A record under a different number is not hers, even with her name.
    stranger = person_from(add_record(hukou, "h-x", {"name": "王芳", "id_number": ID_C,
                                                     "phone": "13905319999"}, region=grid))
    page = client_for(wang_fang).get(reverse("registry_privacy:me")).content.decode()
    assert f'data-person="{stranger.pk}"' not in page
