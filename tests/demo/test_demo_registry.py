"""The demo registry: departments' datasets, people with provenance in the showcase
communities, stewards who can log in, residents who find themselves; reset removes it."""

from __future__ import annotations

import json
import random
import time
from collections import Counter

import pytest
from django.db.models import Count
from django.test import Client
from django.urls import reverse

from tests.demo.test_command import PASSWORD, run_demo
from wangge.accounts.models import User
from wangge.accounts.roles import Role
from wangge.accounts.scope import visible_to
from wangge.catalog.models import Dataset, SharingClass
from wangge.privacy.idnumbers import parse_id_number
from wangge.registry import erasure, records
from wangge.registry.demo_people import credit_check_character, org_check_character
from wangge.registry.models import (
    ErasureRequest,
    House,
    Organisation,
    Person,
    PersonTag,
    SourceRecord,
)

SEED = 4
SHOWCASE = "370102001001"  # the first community: resident1's


@pytest.fixture
def city(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    started = time.perf_counter()
    out = run_demo("--size", "S", "--seed", str(SEED), "--password", PASSWORD)
    return out, time.perf_counter() - started


def sign_in(username: str) -> Client:
    """Through the real login page (the lockout backend needs a request)."""
    c = Client()
    response = c.post(reverse("accounts:login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, username
    assert "/accounts/login/" not in response["Location"]
    return c


def snapshot() -> list[tuple[str, str, str]]:
    return sorted(Person.objects.values_list("id_number_masked", "name_masked",
                                             "region__code"))


@pytest.mark.django_db
def test_persons_with_provenance_in_a_showcase_community(city):
    _out, seconds = city
    assert seconds < 20
    here = Person.objects.filter(region__parent__code=SHOWCASE)
    assert here.count() >= 80
    assert 200 <= Person.objects.count() <= 1000
    # One to three datasets each; several with more than one, and some that disagree.
    held = Counter(here.annotate(n=Count("sources")).values_list("n", flat=True))
    assert set(held) <= {1, 2, 3} and held[1] and sum(held[n] for n in (2, 3)) >= 5
    assert Person.objects.filter(has_conflicts=True).exists()
    conflicted = Person.objects.filter(has_conflicts=True).first()
    assert conflicted.conflict_fields and conflicted.chosen
    # Each person's values come from its rows, named by dataset.
    codes = set(Dataset.objects.values_list("code", flat=True))
    for person in here[:50]:
        assert person.id_number_masked and person.name_masked
        assert {c["dataset"] for c in person.chosen.values()} <= codes
        for row in person.sources.all():
            values = records.open_values(row)
            parse_id_number(values["id_number"])  # a valid GB 11643 number
            assert row.region_id == person.region_id
    # Buildings have addresses; houses are owner-occupied, rented or vacant.
    usages = set(House.objects.values_list("usage", flat=True))
    assert usages == {"owner_occupied", "rented", "vacant"}
    assert House.objects.filter(usage="rented", tenant_count__gte=1).exists()
    assert all(h.building.address.endswith("号楼") for h in House.objects.all()[:20])
    # Organisations carry valid unified social credit codes.
    orgs = list(Organisation.objects.all())
    assert len(orgs) >= 10
    for org in orgs:
        code = org.credit_code
        assert len(code) == 18 and code[2:8] == "370102"
        assert code[16] == org_check_character(code[8:16]) and \
            code[17] == credit_check_character(code[:17]), code


def test_check_characters_match_real_codes():
    # Published codes (Tencent, Huawei): the GB 32100 and GB 11714 check characters agree.
    for code in ("91440300708461136T", "914403001922038216", "91110000100003495Y"):
        assert credit_check_character(code[:17]) == code[17]
        assert org_check_character(code[8:16]) == code[16]
    rng = random.Random(1)
    other = "91440300708461136" + rng.choice([c for c in "0123456789" if c != "T"])
    assert credit_check_character(other[:17]) != other[17]


@pytest.mark.django_db
def test_departments_datasets_and_tags(city):
    hukou = Dataset.objects.get(code="370102-ga-hukou")
    assert (hukou.name, hukou.trust, hukou.sharing_class) == ("户籍人口", 90,
                                                             SharingClass.CONDITIONAL)
    assert hukou.department.code == "370102-GA"
    elderly = Dataset.objects.get(code="370102-mz-elderly-alone")
    assert elderly.flows_down and elderly.tag.name == "独居老人"
    smi = Dataset.objects.get(code="370102-wj-smi")
    assert smi.sharing_class == SharingClass.NONE and smi.tag.holders == []
    assert smi.tag.category == "key" and smi.department.code == "370102-WJ"
    for code in ("ga-floating", "mz-dibao", "cl-disabled", "jy-left-behind"):
        dataset = Dataset.objects.get(code=f"370102-{code}")
        assert dataset.records.exists(), code
        assert dataset.fields.filter(field_code="name").exists()
    assert Dataset.objects.get(code="370102-ga-floating").retention_days == 365
    # A grid worker sees the 独居老人 tags of her grid, never the health department's.
    elderly_person = PersonTag.objects.filter(tag__code="370102-elderly-alone").first().person
    worker = User.objects.get(username=f"gw_{elderly_person.region.code}")
    seen = set(visible_to(PersonTag, worker).values_list("tag__code", flat=True))
    assert "370102-elderly-alone" in seen and "370102-smi" not in seen
    assert PersonTag.objects.filter(tag__code="370102-smi").exists()
    steward_wj = User.objects.get(username="steward_wj")
    assert visible_to(PersonTag, steward_wj).filter(tag__code="370102-smi").exists()


@pytest.mark.django_db
def test_stewards_of_each_data_owner_log_in(city):
    out, _seconds = city
    for username, department in (("steward", "370102-MZ"), ("steward_ga", "370102-GA"),
                                 ("steward_wj", "370102-WJ"), ("steward_cl", "370102-CL"),
                                 ("steward_jy", "370102-JY")):
        user = User.objects.get(username=username)
        assert user.role == Role.STEWARD and user.department.code == department
        assert user.check_password(PASSWORD)
        assert username in out  # printed with the other logins
        c = sign_in(username)
        assert c.get(reverse("registry_privacy:erasure_list")).status_code == 200


@pytest.mark.django_db
def test_demo_residents_find_their_own_record(city):
    c = sign_in("resident1")
    page = c.get(reverse("registry_privacy:me")).content.decode()
    assert page.count('data-testid="own-record"') == 1
    assert "户籍人口" in page and "低保对象" in page
    data = json.loads(c.post(reverse("registry_privacy:me_export")).content)
    (person,) = data["persons"]
    resident = User.objects.get(username="resident1")
    assert person["values"]["phone"] == "13905310001"
    assert person["values"]["name"] == resident.display_name
    assert {s["dataset"] for s in person["sources"]} == {"370102-ga-hukou", "370102-mz-dibao"}


@pytest.mark.django_db
def test_same_seed_same_people_and_reset_removes_them(city):
    before = snapshot()
    steward = User.objects.get(username="steward")
    worker = User.objects.get(username="gw_370102001001001")
    person = visible_to(Person, worker).first()
    req, _ = erasure.request_erasure(worker, person.pk, "anonymise", "演示")
    erasure.decide(steward, req.pk, False, "演示拒绝")
    # A reset with the same seed draws the same people again (and the request is gone).
    run_demo("--size", "S", "--seed", str(SEED), "--password", PASSWORD, "--reset")
    assert snapshot() == before
    assert not ErasureRequest.objects.exists()
    assert Dataset.objects.filter(code__startswith="370102-").count() == 7
    # Another seed: other people, nothing left of the first.
    run_demo("--size", "S", "--seed", str(SEED + 1), "--password", PASSWORD, "--reset")
    assert snapshot() != before
    assert not SourceRecord.objects.filter(person__isnull=True).exists()
    assert SourceRecord.objects.filter(dataset__code="370102-ga-hukou").exists()
