"""The catalogue (数据目录) as its readers and managers meet it: the list and its filters, a
dataset's page, the standard fields, and a steward creating, editing and publishing his
department's datasets — each change audited with what changed."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from tests.factories import make_user
from tests.registry_factories import ID_B, add_record, make_dataset
from wangge.accounts.roles import Role
from wangge.audit.models import AuditRecord
from wangge.catalog import catalogue, lists
from wangge.catalog.catalogue import DatasetInput
from wangge.catalog.models import Dataset, Entity, SharingClass
from wangge.catalog.service import Forbidden, Invalid, NotFound

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def catalogue_of_two(elderly_list, hukou, civil_affairs):
    orgs = make_dataset("mz-social-orgs", civil_affairs, ("org_name", "credit_code"),
                        name="社会组织名录", entity=Entity.ORGANISATION, required=("org_name",),
                        sharing_class=SharingClass.UNCONDITIONAL)
    return {"elderly": elderly_list, "hukou": hukou, "orgs": orgs}


def client(user) -> Client:
    c = Client()
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    c.force_login(user)
    return c


def listed(html: str) -> list[str]:
    table = re.search(r'data-testid="datasets".*?</table>', html, re.S).group(0)
    return re.findall(r'<tr data-code="([^"]+)"', table)


def form_data(**overrides) -> dict:
    data = {"code": "mz-disabled", "name": "残疾人名单", "entity": "person",
            "sharing_class": "conditional", "sharing_conditions": "用于残疾人帮扶，按户籍地核对",
            "frequency": "monthly", "trust": "55", "is_active": "on",
            "carried": ["name", "id_number", "disability_level", "grid_code"],
            "required": ["name", "id_number"]}
    data.update(overrides)
    return data


def audits(action: str) -> list[dict]:
    return [json.loads(r.detail) for r in AuditRecord.objects.filter(action=action)
            .order_by("seq")]


# -- reading the catalogue ----------------------------------------------------------------


def test_the_catalogue_filters_by_department_class_entity_and_text(grid_worker,
                                                                  catalogue_of_two):
    c = client(grid_worker)
    assert listed(c.get("/catalog/").content.decode()) == [
        "ga-hukou", "mz-elderly-alone", "mz-social-orgs"]
    assert listed(c.get("/catalog/", {"department": "mz"}).content.decode()) == [
        "mz-elderly-alone", "mz-social-orgs"]
    assert listed(c.get("/catalog/", {"sharing_class": "unconditional"}).content.decode()) == [
        "mz-social-orgs"]
    assert listed(c.get("/catalog/", {"entity": "organisation"}).content.decode()) == [
        "mz-social-orgs"]
    assert listed(c.get("/catalog/", {"q": "户籍"}).content.decode()) == ["ga-hukou"]
    html = c.get("/catalog/", {"q": "nothing-like-this"}).content.decode()
    assert listed(html) == [] and 'data-testid="empty"' in html
    # A value outside the choices is no filter at all, not an error.
    assert len(listed(c.get("/catalog/", {"entity": "spaceship"}).content.decode())) == 3


def test_residents_do_not_read_the_catalogue(tree, catalogue_of_two):
    resident = make_user("res", Role.RESIDENT, tree["370102001001001"])
    assert client(resident).get("/catalog/").status_code == 403
    assert Client().get("/catalog/").status_code == 302  # to the sign-in page


def test_the_dataset_page_tells_the_reader_what_she_may_do(handler, police_handler, admin_user,
                                                           catalogue_of_two, tree):
    ds = catalogue_of_two["elderly"]
    add_record(ds, "e1", {"name": "王秀英", "id_number": ID_B}, region=tree["370102001001001"])
    own = client(handler).get(f"/catalog/datasets/{ds.code}/").content.decode()
    assert 'data-status="own"' in own and 'data-testid="read-rows"' in own
    assert re.search(r'data-testid="rows-visible">1<', own)
    for code, label in (("name", "full name"), ("id_number", "ID number")):
        assert f'<tr data-code="{code}">' in own and label in own
    assert "published to grids" in own and "独居老人" in own
    assert "shared on conditions" in own and "monthly" in own
    other = client(police_handler).get(f"/catalog/datasets/{ds.code}/").content.decode()
    assert 'data-status="none"' in other and 'data-testid="request-access"' in other
    assert re.search(r'data-testid="rows-visible">0<', other)
    assert 'data-testid="read-rows"' not in other and 'data-testid="edit-dataset"' not in other
    root = client(admin_user).get(f"/catalog/datasets/{ds.code}/").content.decode()
    assert 'data-testid="request-access"' not in root and 'data-testid="edit-dataset"' in root
    assert "does not read people" in root
    open_page = client(police_handler).get(
        f"/catalog/datasets/{catalogue_of_two['orgs'].code}/").content.decode()
    assert 'data-status="open"' in open_page and "no request needed" in open_page
    assert client(handler).get("/catalog/datasets/nope/").status_code == 404


def test_the_standard_fields_page_lists_every_field(grid_worker):
    html = client(grid_worker).get("/catalog/fields/").content.decode()
    table = re.search(r'data-testid="fields".*?</table>', html, re.S).group(0)
    codes = re.findall(r'<tr data-code="([^"]+)"', table)
    assert codes[:3] == ["name", "id_number", "phone"] and "fire_check_passed" in codes
    assert "ID number (protected)" in html and "180 days" in html


# -- managing datasets ---------------------------------------------------------------------


def test_a_steward_creates_his_departments_dataset(steward, civil_affairs):
    resp = client(steward).post("/catalog/datasets/new/", form_data())
    assert resp.status_code == 302 and resp["Location"] == "/catalog/datasets/mz-disabled/"
    ds = Dataset.objects.get(code="mz-disabled")
    assert ds.department == civil_affairs and ds.trust == 55
    assert [(f.field_code, f.required) for f in ds.fields.all()] == [
        ("name", True), ("id_number", True), ("disability_level", False), ("grid_code", False)]
    (created,) = audits("catalog.dataset.create")
    assert "sharing_class: — → conditional" in created["changes"]
    assert "fields: — → name*, id_number*, disability_level, grid_code" in created["changes"]


@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({"carried": [], "required": []}, "carried", "at least one standard field"),
    ({"carried": ["name", "house_usage"], "required": ["name"]}, "carried",
     "describes houses, not persons"),
    ({"required": ["phone"]}, "required", "must be one the dataset carries"),
    ({"sharing_conditions": ""}, "sharing_conditions", "on which conditions"),
    ({"code": "Not A Slug"}, "code", ""),
    ({"code": "new"}, "code", "lowercase letters"),
    ({"code": "ga-hukou"}, "code", "exists already"),
])
def test_bad_dataset_input_is_named_on_its_field(steward, hukou, overrides, field, words):
    resp = client(steward).post("/catalog/datasets/new/", form_data(**overrides))
    html = resp.content.decode()
    assert resp.status_code == 422
    error = re.search(rf'data-error="{field}">([^<]*)<', html)
    assert error and words in error.group(1)
    assert not Dataset.objects.filter(name="残疾人名单").exists()
    assert not AuditRecord.objects.filter(action="catalog.dataset.create").exists()


def test_only_standard_codes_are_carried(steward):
    data = DatasetInput(code="mz-x", name="试验", department_id=None,
                        sharing_class=SharingClass.UNCONDITIONAL,
                        fields=[("name", True), ("shoe_size", False)])
    with pytest.raises(Invalid, match="shoe_size is not a standard field") as err:
        catalogue.save_dataset(steward, None, data)
    assert err.value.field == "fields"
    resp = client(steward).post("/catalog/datasets/new/",
                                form_data(carried=["name", "shoe_size"]))
    assert resp.status_code == 422 and not Dataset.objects.filter(code="mz-disabled").exists()


def test_editing_audits_what_changed_and_nothing_when_nothing_did(steward, elderly_list):
    c = client(steward)
    url = f"/catalog/datasets/{elderly_list.code}/edit/"
    page = c.get(url).content.decode()
    assert 'name="carried" value="phone" aria-label' in page
    data = form_data(name="独居老人名单", sharing_class="unconditional", frequency="weekly",
                     carried=["name", "phone", "address", "grid_code"], required=["name"])
    data.pop("code")
    resp = c.post(url, data)
    assert resp.status_code == 302
    elderly_list.refresh_from_db()
    assert (elderly_list.sharing_class, elderly_list.frequency, elderly_list.code) == (
        "unconditional", "weekly", "mz-elderly-alone")
    (changed,) = audits("catalog.dataset.update")
    assert "sharing_class: conditional → unconditional" in changed["changes"]
    assert "frequency: monthly → weekly" in changed["changes"]
    assert ("fields: name*, id_number, phone, address, grid_code → name*, phone, address, "
            "grid_code") in changed["changes"]
    assert not any(line.startswith("name:") for line in changed["changes"])
    # The same form again changes nothing and writes nothing.
    assert c.post(url, data).status_code == 302
    assert len(audits("catalog.dataset.update")) == 1


def test_only_the_owner_or_an_administrator_manages(police_steward, handler, admin_user, police,
                                                    elderly_list):
    url = f"/catalog/datasets/{elderly_list.code}/edit/"
    resp = client(police_steward).get(url)
    assert resp.status_code == 403 and "manages this dataset" in resp.content.decode()
    assert client(handler).get(url).status_code == 403  # no catalog.manage at all
    data = form_data(name="独居老人名单", department=str(police.pk))
    data.pop("code")
    with pytest.raises(NotFound):
        catalogue.save_dataset(police_steward, elderly_list, DatasetInput(
            code="", name="x", department_id=police.pk, fields=[("name", True)],
            sharing_class=SharingClass.UNCONDITIONAL))
    # An administrator manages any dataset, and may hand it to another department.
    assert client(admin_user).post(url, data).status_code == 302
    elderly_list.refresh_from_db()
    assert elderly_list.department == police
    (changed,) = audits("catalog.dataset.update")
    assert "department: mz → ga" in changed["changes"]


def test_a_steward_cannot_move_his_dataset_to_another_department(steward, police, elderly_list):
    data = DatasetInput(code="", name="独居老人名单", department_id=police.pk,
                        sharing_class=SharingClass.UNCONDITIONAL, fields=[("name", True)])
    catalogue.save_dataset(steward, elderly_list, data)
    elderly_list.refresh_from_db()
    assert elderly_list.department == steward.department


def test_an_account_without_department_creates_nothing(tree):
    odd = make_user("odd", Role.STEWARD, tree["370102"])
    with pytest.raises(Forbidden, match="no department"):
        catalogue.save_dataset(odd, None, DatasetInput(
            code="x-y", name="x", department_id=None, fields=[("name", True)],
            sharing_class=SharingClass.UNCONDITIONAL))


def test_inactive_datasets_are_kept_from_readers_not_from_managers(steward, police_handler,
                                                                    elderly_list):
    Dataset.objects.filter(pk=elderly_list.pk).update(is_active=False)
    assert listed(client(steward).get("/catalog/").content.decode()) == ["mz-elderly-alone"]
    assert listed(client(police_handler).get("/catalog/").content.decode()) == []
    assert client(police_handler).get(f"/catalog/datasets/{elderly_list.code}/").status_code \
        == 404


# -- publishing to grids -------------------------------------------------------------------


def test_publishing_sends_the_list_down_and_is_audited(police_steward, grid_worker, hukou,
                                                       correction_tag, elderly_tag, tree):
    add_record(hukou, "h1", {"name": "王秀英", "id_number": ID_B}, region=tree["370102001001001"])
    assert lists.lists_for(grid_worker) == []
    c = client(police_steward)
    url = f"/catalog/datasets/{hukou.code}/publish/"
    resp = c.post(url, {"flows_down": "on", "tag": str(elderly_tag.pk)})
    assert resp.status_code == 422  # another department's tag is not offered
    assert c.post(url, {"flows_down": "on", "tag": str(correction_tag.pk)}).status_code == 302
    hukou.refresh_from_db()
    assert hukou.flows_down and hukou.tag == correction_tag
    assert [(s.dataset.code, s.rows) for s in lists.lists_for(grid_worker)] == [("ga-hukou", 1)]
    (published,) = audits("catalog.dataset.publish")
    assert published["changes"] == ["flows_down: False → True",
                                    "tag: — → community_correction"]
    c.post(url, {"flows_down": "on", "tag": str(correction_tag.pk)})  # the same again
    assert len(audits("catalog.dataset.publish")) == 1
    c.post(url, {})  # taken back: the grids no longer see it
    assert lists.lists_for(grid_worker) == []
    assert len(audits("catalog.dataset.publish")) == 2
    page = c.get(f"/catalog/datasets/{hukou.code}/").content.decode()
    assert re.search(r'data-testid="published">\s*no', page)


def test_a_tag_from_another_department_is_refused_by_the_service(police_steward, hukou,
                                                                 elderly_tag):
    with pytest.raises(Invalid, match="belongs to another department"):
        catalogue.set_published(police_steward, hukou, flows_down=True, tag=elderly_tag)
    hukou.refresh_from_db()
    assert not hukou.flows_down
