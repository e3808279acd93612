"""Registry API: the same search and the person card, masked, scoped, token-checked."""

from __future__ import annotations

import json

import pytest

from tests.registry.pages_data import (
    CREDIT_CODE,
    NAME_A,
    PHONE_A,
    assert_no_clear,
    build,
    grant,
)
from tests.registry_factories import ID_A
from wangge.accounts.services import issue_token

pytestmark = pytest.mark.django_db
API = "/api/v1/registry"


@pytest.fixture
def city(tree, hukou, elderly_list, correction_tag, civil_affairs):
    return build(tree, hukou, elderly_list, correction_tag, civil_affairs)


def bearer(user, *scopes) -> dict:
    _, secret = issue_token(None, username=user.username, name="t", scopes=list(scopes))
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content.decode()[:300]
    return {item["id"] for item in response.json()["items"]}


def test_person_search_with_a_token(client, city, community_staff, police_handler, handler):
    auth = bearer(community_staff, "registry:read")
    assert ids(client.get(f"{API}/persons", {"q": "3701 211X"}, **auth)) == {city.a.pk}
    assert ids(client.get(f"{API}/persons", {"q": NAME_A}, **auth)) == {city.a.pk}
    assert ids(client.get(f"{API}/persons", **auth)) == {city.a.pk, city.b.pk}
    assert ids(client.get(f"{API}/persons", **bearer(handler, "registry:read"))) == {city.b.pk}
    assert ids(client.get(f"{API}/persons", **bearer(police_handler, "registry:read"))) == {
        city.a.pk, city.b.pk, city.c.pk}


def test_answers_are_masked(client, city, community_staff):
    auth = bearer(community_staff, "registry:read")
    listing = client.get(f"{API}/persons", **auth)
    row = next(i for i in listing.json()["items"] if i["id"] == city.a.pk)
    assert row["id_number"] == "3701**********211X" and row["phone"] == "138****5678"
    assert row["name"] == "张*明" and row["address"] == "山东省济南市历下区阳光花园3号楼***"
    assert_no_clear(listing.content)
    card = client.get(f"{API}/persons/{city.a.pk}", **auth)
    assert card.status_code == 200
    assert_no_clear(card.content)


def test_card_has_provenance_and_counts_hidden_rows(client, city, grid_worker, police,
                                                    police_steward, elderly_list):
    answer = client.get(f"{API}/persons/{city.b.pk}",
                        **bearer(grid_worker, "registry:read")).json()
    phone = next(f for f in answer["fields"] if f["code"] == "phone")
    assert [s["dataset"] for s in phone["sources"]] == ["独居老人名单"]
    assert phone["value"] == "139****0001" and phone["conflict"]
    assert answer["hidden_records"] == 1 and answer["tags"][0]["code"] == "elderly_alone"
    assert "户籍人口" not in str(answer) and "community_correction" not in str(answer)
    grant(elderly_list, police, police_steward)
    full = client.get(f"{API}/persons/{city.b.pk}",
                      **bearer(police_steward, "registry:read")).json()
    phone = next(f for f in full["fields"] if f["code"] == "phone")
    assert [(s["dataset"], s["chosen"]) for s in phone["sources"]] == [
        ("户籍人口", True), ("独居老人名单", False)]
    assert full["hidden_records"] == 0


def test_out_of_scope_is_404(client, city, other_grid_worker, handler):
    auth = bearer(other_grid_worker, "registry:read")
    assert client.get(f"{API}/persons/{city.a.pk}", **auth).status_code == 404
    assert client.get(f"{API}/persons/999999", **auth).status_code == 404
    assert client.get(f"{API}/persons/{city.a.pk}",
                      **bearer(handler, "registry:read")).status_code == 404


def test_token_needs_the_scope(client, city, community_staff, auditor):
    no_scope = bearer(community_staff, "cases:read")
    assert client.get(f"{API}/persons", **no_scope).status_code == 403
    assert client.get(f"{API}/persons/{city.a.pk}", **no_scope).status_code == 403
    # A role without registry.view gets nothing even with the scope.
    assert client.get(f"{API}/persons", **bearer(auditor, "registry:read")).status_code == 403
    assert client.get(f"{API}/persons").status_code == 401


def test_search_by_post_keeps_the_value_out_of_the_url(client, city, community_staff):
    auth = bearer(community_staff, "registry:read")
    response = client.post(f"{API}/persons/search", json.dumps({"q": PHONE_A}),
                           content_type="application/json", **auth)
    assert ids(response) == {city.a.pk}
    bad = client.post(f"{API}/persons/search", json.dumps({"q": "x", "by": "id_number"}),
                      content_type="application/json", **auth)
    assert bad.status_code == 422


def test_session_works_too(client, city, community_staff):
    client.force_login(community_staff)
    assert ids(client.get(f"{API}/persons", {"q": ID_A})) == {city.a.pk}


def test_bad_filters_are_named(client, city, community_staff, correction_tag):
    auth = bearer(community_staff, "registry:read")
    bad = client.get(f"{API}/persons", {"q": "nonsense", "by": "phone"}, **auth)
    assert bad.status_code == 422 and "q" in bad.json()["errors"]
    hidden_tag = client.get(f"{API}/persons", {"tag": correction_tag.code}, **auth)
    assert hidden_tag.status_code == 422 and "tag" in hidden_tag.json()["errors"]
    outside = client.get(f"{API}/persons", {"grid": "370102001002001"}, **auth)
    assert outside.status_code == 422 and "grid" in outside.json()["errors"]
    assert client.get(f"{API}/persons", {"page_size": 500}, **auth).status_code == 422


def test_other_lists(client, city, community_staff, other_community_staff):
    auth = bearer(community_staff, "registry:read")
    assert ids(client.get(f"{API}/houses", {"usage": "rented"}, **auth)) == {city.rented.pk}
    assert ids(client.get(f"{API}/houses", {"usage": "vacant"}, **auth)) == {city.vacant.pk}
    assert ids(client.get(f"{API}/places", {"place_kind": "school"}, **auth)) == {
        city.school.pk}
    assert ids(client.get(f"{API}/organisations", {"q": CREDIT_CODE}, **auth)) == {
        city.company.pk}
    assert ids(client.get(f"{API}/buildings", **auth)) == {city.building.pk}
    east = bearer(other_community_staff, "registry:read")
    assert ids(client.get(f"{API}/houses", **east)) == {city.east_house.pk}
    assert ids(client.get(f"{API}/organisations", **east)) == set()


def test_paging(client, city, police_handler):
    auth = bearer(police_handler, "registry:read")
    first = client.get(f"{API}/persons", {"page_size": 2}, **auth).json()
    second = client.get(f"{API}/persons", {"page_size": 2, "page": 2}, **auth).json()
    assert first["count"] == 3 and len(first["items"]) == 2 and len(second["items"]) == 1
    assert {i["id"] for i in first["items"] + second["items"]} == {city.a.pk, city.b.pk,
                                                                   city.c.pk}

