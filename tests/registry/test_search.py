"""The registry search page: each key, within scope and the department rules."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.factories import make_user
from tests.registry.pages_data import (
    ADDRESS_A,
    CREDIT_CODE,
    EAST1,
    NAME_A,
    NAME_B,
    NAME_C,
    PHONE_A,
    WEST2,
    build,
)
from tests.registry_factories import ID_A, ID_C
from wangge.accounts.roles import Role
from wangge.registry import service

pytestmark = pytest.mark.django_db
URL = "/registry/"


@pytest.fixture
def client(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # assertions read the English msgids
    return client


@pytest.fixture
def city(tree, hukou, elderly_list, correction_tag, civil_affairs):
    return build(tree, hukou, elderly_list, correction_tag, civil_affairs)


def found(client, user, **params) -> set[int]:
    """The person (or other record) ids the search page lists for ``user``."""
    client.force_login(user)
    response = client.get(URL, params)
    assert response.status_code == 200, response.content.decode()[:400]
    html = response.content.decode()
    kind = params.get("kind", "persons").rstrip("s")
    return {int(x) for x in re.findall(rf'<tr data-{kind}="(\d+)"', html)}


def test_reverse_name_is_the_search_page():
    assert reverse("registry:search") == URL


def test_community_staff_find_only_their_community(client, city, community_staff,
                                                   other_community_staff):
    assert found(client, community_staff, q=NAME_A) == {city.a.pk}
    assert found(client, other_community_staff, q=NAME_A) == set()
    assert found(client, community_staff, q=NAME_C) == set()
    assert found(client, other_community_staff, q=NAME_C) == {city.c.pk}
    assert found(client, community_staff) == {city.a.pk, city.b.pk}


def test_grid_worker_sees_his_grid_only(client, city, grid_worker, other_grid_worker):
    assert found(client, grid_worker) == {city.a.pk, city.b.pk}
    assert found(client, other_grid_worker) == set()
    assert found(client, other_grid_worker, q=ID_A) == set()


def test_handler_finds_only_persons_his_datasets_hold(client, city, handler, police_handler):
    # 民政's handler: only 王芳 (on the 独居老人 list); 公安's: everyone in 户籍.
    assert found(client, handler) == {city.b.pk}
    assert found(client, handler, q=NAME_A) == set()
    assert found(client, handler, q=ID_A) == set()
    assert found(client, police_handler, q=NAME_A) == {city.a.pk}
    assert found(client, police_handler) == {city.a.pk, city.b.pk, city.c.pk}


@pytest.mark.parametrize("typed", [
    ID_A, ID_A.lower(), "370102 19850307 211x", "3701 211X", "3701**********211X",
    "3701＊＊＊＊＊＊＊＊＊＊211X", "3701211X", "3701 **** 211x"])
def test_by_id_number_whole_or_masked(client, city, community_staff, typed):
    assert found(client, community_staff, q=typed) == {city.a.pk}


def test_masked_id_matches_first_and_last_four_only(client, city, community_staff):
    assert found(client, community_staff, q="3701 2110") == set()
    assert found(client, community_staff, q="3702 211X") == set()
    # 李四 is out of the west community's scope even by the mask.
    assert found(client, community_staff, q=f"{ID_C[:4]} {ID_C[-4:]}") == set()


@pytest.mark.parametrize("typed", [PHONE_A, "138-1234-5678", "+86 138 1234 5678",
                                   "138****5678", "138 5678"])
def test_by_phone_whole_or_masked(client, city, community_staff, typed):
    assert found(client, community_staff, q=typed) == {city.a.pk}


def test_by_name_is_exact(client, city, community_staff):
    assert found(client, community_staff, q="张 小明") == {city.a.pk}
    assert found(client, community_staff, q="张小") == set()
    assert found(client, community_staff, q=NAME_B, by="name") == {city.b.pk}


def test_by_exact_address_or_building(client, city, community_staff):
    assert found(client, community_staff, q=ADDRESS_A) == {city.a.pk}
    assert found(client, community_staff, q="阳光花园3号楼") == {city.a.pk}
    # Part of the hidden unit and room finds nothing: the mask stops at the building.
    assert found(client, community_staff, q="3号楼2单元", by="address") == set()


def test_explicit_kind_that_does_not_fit_is_named(client, city, community_staff):
    client.force_login(community_staff)
    response = client.get(URL, {"q": "not a number", "by": "id_number"})
    assert response.status_code == 422
    assert "3701 211X" in response.content.decode()
    assert client.get(URL, {"by": "shoe size"}).status_code == 422
    assert client.get(URL, {"kind": "cars"}).status_code == 422


def test_tag_filter_only_with_tags_one_may_see(client, city, grid_worker, police_handler,
                                               correction_tag):
    assert found(client, grid_worker, tag="elderly_alone") == {city.b.pk}
    # 社区矫正 is 公安's with no holders: to a grid worker it does not exist.
    client.force_login(grid_worker)
    hidden = client.get(URL, {"tag": correction_tag.code})
    assert hidden.status_code == 422
    assert "社区矫正" not in hidden.content.decode()
    assert "community_correction" in hidden.content.decode()  # what he typed, named
    unknown = client.get(URL, {"tag": "no-such-tag"})
    assert unknown.status_code == 422
    # The error is the same for a hidden and a missing tag: nothing learnt.
    assert (hidden.content.decode().replace("community_correction", "X")
            .count("There is no tag") == 1)
    assert found(client, police_handler, tag=correction_tag.code) == {city.b.pk}
    # The tag filter does not list what the user may not see.
    client.force_login(grid_worker)
    page = client.get(URL).content.decode()
    assert 'value="elderly_alone"' in page and "community_correction" not in page


def test_grid_filter_within_scope(client, city, community_staff, tree):
    assert found(client, community_staff, grid=WEST2) == set()
    assert found(client, community_staff, grid="370102001001001") == {city.a.pk, city.b.pk}
    client.force_login(community_staff)
    outside = client.get(URL, {"grid": EAST1})
    assert outside.status_code == 422
    assert f"{EAST1} is not an area within yours" in outside.content.decode()


def test_residence_type_filter(client, city, community_staff):
    assert found(client, community_staff, residence_type="floating") == {city.a.pk}
    assert found(client, community_staff, residence_type="foreign") == set()


def test_houses_by_usage(client, city, community_staff, other_community_staff):
    assert found(client, community_staff, kind="houses") == {city.rented.pk, city.vacant.pk}
    assert found(client, community_staff, kind="houses", usage="rented") == {city.rented.pk}
    assert found(client, community_staff, kind="houses", usage="vacant") == {city.vacant.pk}
    assert found(client, other_community_staff, kind="houses", usage="rented") == {
        city.east_house.pk}


def test_buildings_places_organisations(client, city, community_staff, other_community_staff):
    assert found(client, community_staff, kind="buildings", q="阳光") == {city.building.pk}
    assert found(client, other_community_staff, kind="buildings", q="阳光") == set()
    assert found(client, community_staff, kind="places", place_kind="school") == {
        city.school.pk}
    assert found(client, community_staff, kind="places", q="便利店") == set()
    assert found(client, other_community_staff, kind="places", q="便利店") == {
        city.east_shop.pk}
    assert found(client, community_staff, kind="organisations", q=CREDIT_CODE.lower()) == {
        city.company.pk}
    assert found(client, community_staff, kind="organisations", q="泉城") == {city.company.pk}
    assert found(client, other_community_staff, kind="organisations", q=CREDIT_CODE) == set()


def test_tabs_keep_the_area_and_the_text_between_things(client, city, community_staff):
    client.force_login(community_staff)
    html = client.get(URL, {"q": NAME_A, "grid": "370102001001001"}).content.decode()
    # What was typed to find a person is not carried to the other tabs.
    assert 'href="/registry/?kind=houses&amp;grid=370102001001001"' in html
    html = client.get(URL, {"kind": "houses", "q": "阳光"}).content.decode()
    assert 'href="/registry/?kind=buildings&amp;q=%E9%98%B3%E5%85%89"' in html
    assert 'href="/registry/?kind=persons"' in html


def test_a_typed_personal_value_stays_out_of_addresses(client, city, community_staff):
    client.force_login(community_staff)
    posted = client.post(URL, {"kind": "persons", "q": ID_A})
    assert posted.status_code == 302
    location = posted["Location"]
    assert location.startswith("/registry/?s=") and ID_A not in location
    assert "3701" not in location and "211X" not in location
    html = client.get(location).content.decode()
    assert f'<tr data-person="{city.a.pk}">' in html
    # The export links carry the same sealed search, and export what the page lists.
    sealed = location.split("?", 1)[1]
    assert f'href="/registry/export/csv/?{sealed.replace("&", "&amp;")}"' in html
    exported = client.get(f"/registry/export/csv/?{sealed}").content.decode("utf-8-sig")
    assert str(city.a.pk) in exported and ID_A not in exported
    # A filter-only search stays readable.
    assert client.post(URL, {"kind": "persons", "tag": "elderly_alone"})["Location"] == \
        "/registry/?kind=persons&tag=elderly_alone"
    assert client.post(URL, {"kind": "houses", "q": "阳光"})["Location"] == \
        "/registry/?kind=houses&q=%E9%98%B3%E5%85%89"


def test_an_unreadable_link_asks_to_search_again(client, city, community_staff):
    client.force_login(community_staff)
    response = client.get(URL, {"s": "v1.k1.a256gcm.AAAA"})
    assert response.status_code == 422
    assert "This search link can no longer be read" in response.content.decode()


def test_a_bad_form_is_answered_in_place(client, city, community_staff):
    client.force_login(community_staff)
    response = client.post(URL, {"kind": "persons", "q": "x" * 101})
    assert response.status_code == 422 and "at most 100 characters" in response.content \
        .decode()


def test_paging(client, city, community_staff, monkeypatch):
    monkeypatch.setattr(service, "PAGE_SIZE", 1)
    client.force_login(community_staff)
    first = client.get(URL).content.decode()
    assert "1 / 2" in first and "page=2" in first
    second = client.get(URL, {"page": 2}).content.decode()
    ids = set(re.findall(r'<tr data-person="(\d+)"', first)) | set(
        re.findall(r'<tr data-person="(\d+)"', second))
    assert ids == {str(city.a.pk), str(city.b.pk)}


def test_paging_a_sealed_search(client, city, community_staff, monkeypatch):
    monkeypatch.setattr(service, "PAGE_SIZE", 1)
    city.b.house = city.rented  # both now live in 阳光花园3号楼
    city.b.save()
    client.force_login(community_staff)
    location = client.post(URL, {"kind": "persons", "q": "阳光花园3号楼"})["Location"]
    first = client.get(location).content.decode()
    sealed = location.split("?", 1)[1]
    assert f'href="?{sealed}&amp;page=2"' in first
    second = client.get(f"{location}&page=2").content.decode()
    ids = set(re.findall(r'<tr data-person="(\d+)"', first + second))
    assert ids == {str(city.a.pk), str(city.b.pk)}


def test_phone_page_lists_cards_and_desktop_a_table(client, city, community_staff):
    client.force_login(community_staff)
    html = client.get(URL).content.decode()
    assert f'<li data-person="{city.a.pk}">' in html and f'<tr data-person="{city.a.pk}">' in html
    assert "registry/pages.css" in html


def test_who_may_search(client, city, tree, admin_user, auditor):
    assert client.get(URL).status_code == 302  # to the login page
    resident = make_user("resident1", Role.RESIDENT, tree["370102001001001"])
    for user in (admin_user, auditor, resident):
        client.force_login(user)
        assert client.get(URL).status_code == 403


def test_search_service_refuses_without_permission(city, auditor):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        service.search(auditor, service.Search())


def test_anonymised_persons_are_not_listed(client, city, community_staff):
    city.b.status = "anonymised"
    city.b.save()
    assert found(client, community_staff) == {city.a.pk}


def test_too_many_areas_to_list_asks_for_a_code(client, city, community_staff, monkeypatch):
    client.force_login(community_staff)
    assert '<select name="grid">' in client.get(URL).content.decode()
    monkeypatch.setattr(service, "AREA_CHOICES_MAX", 1)
    html = client.get(URL, {"grid": "370102001001001"}).content.decode()
    assert '<input name="grid" value="370102001001001"' in html
