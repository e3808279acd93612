"""Masked everywhere: no registry page or answer holds a clear ID number, phone, name or
exact address — not even a source row's key, which for some departments is the ID number."""

from __future__ import annotations

import pytest

from tests.registry.pages_data import assert_no_clear, build, grant
from tests.registry_factories import ID_A
from wangge.accounts.services import issue_token
from wangge.registry.models import SourceRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def city(tree, hukou, elderly_list, correction_tag, civil_affairs):
    return build(tree, hukou, elderly_list, correction_tag, civil_affairs)


def pages(city) -> list[str]:
    return [
        "/registry/", "/registry/?kind=houses", "/registry/?kind=buildings",
        "/registry/?kind=places", "/registry/?kind=organisations",
        f"/registry/persons/{city.a.pk}/", f"/registry/persons/{city.b.pk}/",
        f"/registry/houses/{city.rented.pk}/", f"/registry/buildings/{city.building.pk}/",
        f"/registry/organisations/{city.company.pk}/", f"/registry/places/{city.school.pk}/",
    ]


def test_the_key_of_a_source_row_may_be_an_id_number(city):
    # The fixture keys 张小明's 户籍 row by his ID number, as some departments do.
    assert SourceRecord.objects.filter(key=ID_A).exists()


@pytest.mark.parametrize("who", ["community_staff", "grid_worker", "police_steward",
                                 "police_handler", "steward"])
def test_pages_are_masked_for_every_role(client, city, who, request, elderly_list, police):
    user = request.getfixturevalue(who)
    if who == "police_steward":
        grant(elderly_list, police, user)  # sees every row of 王芳, both phones
    client.force_login(user)
    seen = 0
    for url in pages(city):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        if response.status_code == 200:
            seen += 1
            assert_no_clear(response.content)
    assert seen >= 5


def test_api_answers_are_masked(client, city, police_handler):
    _, secret = issue_token(None, username=police_handler.username, name="t",
                            scopes=["registry:read"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    for url in ("/api/v1/registry/persons", f"/api/v1/registry/persons/{city.a.pk}",
                f"/api/v1/registry/persons/{city.b.pk}", f"/api/v1/registry/persons/{city.c.pk}",
                "/api/v1/registry/houses", "/api/v1/registry/organisations"):
        response = client.get(url, **auth)
        assert response.status_code == 200, url
        assert_no_clear(response.content)


def test_masks_are_what_the_card_shows(client, city, grid_worker):
    client.force_login(grid_worker)
    html = client.get(f"/registry/persons/{city.a.pk}/").content.decode()
    for mask in ("张*明", "3701**********211X", "138****5678",
                 "山东省济南市历下区阳光花园3号楼***"):
        assert mask in html
