"""The region API: children, GeoJSON for the maps, roots; scope, permissions, tokens."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import make_user
from wangge.accounts.roles import Role
from wangge.accounts.services import issue_token

pytestmark = pytest.mark.django_db

WEST = "370102001001"
EAST = "370102001002"
STREET = "370102001"
BASE = "/api/v1/regions"


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _codes(features: list[dict]) -> list[str]:
    return [f["properties"]["code"] for f in features]


def test_children_of_own_node_with_totals(tree, community_staff):
    body = _client(community_staff).get(f"{BASE}/{WEST}/children").json()
    assert body["count"] == 2
    assert [(i["code"], i["grids"], i["households"], i["grid_type"]) for i in body["items"]] == [
        (f"{WEST}001", 1, 420, "residential"), (f"{WEST}002", 1, 380, "residential")]


def test_children_are_paginated(tree, admin_user):
    c = _client(admin_user)
    body = c.get(f"{BASE}/{STREET}/children", {"page": 2, "page_size": 1}).json()
    assert body["count"] == 2 and body["page"] == 2
    assert [i["code"] for i in body["items"]] == [EAST]
    assert c.get(f"{BASE}/{STREET}/children", {"page": 0}).status_code == 422
    assert c.get(f"{BASE}/{STREET}/children", {"page_size": 100000}).status_code == 422
    assert c.get(f"{BASE}/{STREET}/children", {"page": 9}).json()["items"] == []


def test_children_geojson_holds_exactly_the_children_with_boundaries(tree, admin_user):
    c = _client(admin_user)
    resp = c.get(f"{BASE}/{STREET}/children.geojson")
    assert resp["Content-Type"] == "application/geo+json"
    body = resp.json()
    assert body["type"] == "FeatureCollection"
    assert _codes(body["features"]) == [WEST, EAST]
    west, east = (f["properties"] for f in body["features"])
    assert (west["grids"], west["households"], west["level"]) == (2, 800, 5)
    assert (east["grids"], east["households"]) == (2, 650)
    assert body["features"][0]["geometry"]["type"] == "Polygon"
    # The county has two streets; only one has a boundary, but the other's grids count too.
    county = c.get(f"{BASE}/370102/children.geojson").json()
    assert _codes(county["features"]) == [STREET]
    assert county["features"][0]["properties"]["grids"] == 4
    roots = c.get(f"{BASE}/370102/children").json()
    assert [(i["code"], i["grids"], i["has_geometry"]) for i in roots["items"]] == [
        (STREET, 4, True), ("370102002", 1, False)]


def test_grid_children_carry_their_type(tree, community_staff):
    body = _client(community_staff).get(f"{BASE}/{WEST}/children.geojson").json()
    assert _codes(body["features"]) == [f"{WEST}001", f"{WEST}002"]
    props = body["features"][0]["properties"]
    assert (props["grid_type"], props["households"], props["level"]) == ("residential", 420, 6)


def test_node_geojson_is_its_own_feature(tree, community_staff):
    c = _client(community_staff)
    body = c.get(f"{BASE}/{WEST}/geojson").json()
    assert body["type"] == "Feature" and body["properties"]["code"] == WEST
    assert body["properties"]["households"] == 800
    assert body["geometry"]["coordinates"][0][0] == [117.00, 36.60]


def test_node_without_boundary_has_null_geometry(tree, admin_user):
    body = _client(admin_user).get(f"{BASE}/370102002/geojson").json()
    assert body["geometry"] is None and body["properties"]["grids"] == 1


def test_roots_are_the_top_of_each_users_scope(tree, admin_user, community_staff):
    assert [i["code"] for i in _client(admin_user).get(f"{BASE}/roots").json()["items"]] == ["37"]
    own = _client(community_staff).get(f"{BASE}/roots").json()
    assert [(i["code"], i["grids"], i["households"]) for i in own["items"]] == [(WEST, 2, 800)]
    geo = _client(community_staff).get(f"{BASE}/roots.geojson").json()
    assert _codes(geo["features"]) == [WEST]


@pytest.mark.parametrize("route", ["", "/children", "/children.geojson", "/geojson"])
@pytest.mark.parametrize("code", [EAST, f"{EAST}001", STREET, "37", "999999999999"])
def test_out_of_scope_is_404_like_missing(tree, community_staff, route, code):
    resp = _client(community_staff).get(f"{BASE}/{code}{route}")
    assert resp.status_code == 404
    assert resp.json() == {"detail": "not found"}


@pytest.mark.parametrize("route", [f"/{WEST}", f"/{WEST}/children", f"/{WEST}/children.geojson",
                                   f"/{WEST}/geojson", "/roots", "/roots.geojson"])
def test_resident_is_forbidden_and_anonymous_unauthenticated(tree, route):
    resident = make_user("resident1", Role.RESIDENT, tree[f"{WEST}001"])
    assert _client(resident).get(f"{BASE}{route}").status_code == 403
    assert Client().get(f"{BASE}{route}").status_code == 401


def test_token_needs_the_read_scope(tree, community_staff):
    _, reader = issue_token(None, username=community_staff.username, name="map",
                            scopes=["regions:read"])
    _, locator = issue_token(None, username=community_staff.username, name="locate",
                             scopes=["regions:locate"])
    url = f"{BASE}/{WEST}/children.geojson"
    ok = Client().get(url, HTTP_AUTHORIZATION=f"Bearer {reader}")
    assert ok.status_code == 200 and len(ok.json()["features"]) == 2
    assert Client().get(url, HTTP_AUTHORIZATION=f"Bearer {locator}").status_code == 403
    # A token never widens its owner's scope.
    out = Client().get(f"{BASE}/{EAST}/children.geojson", HTTP_AUTHORIZATION=f"Bearer {reader}")
    assert out.status_code == 404
