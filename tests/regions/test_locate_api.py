"""GET /api/v1/locate and POST /api/v1/locate/bulk."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.factories import make_user
from wangge.accounts.roles import PERMISSIONS, Role
from wangge.accounts.services import issue_token
from wangge.regions import crs, locate_api
from wangge.regions.locate import clear_cache

WS, ES, EN = "370102001001001", "370102001002001", "370102001002002"
URL = "/api/v1/locate"
BULK = "/api/v1/locate/bulk"


@pytest.fixture(autouse=True)
def _fresh_index():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def client(community_staff) -> Client:
    c = Client()
    c.force_login(community_staff)
    return c


def post(client: Client, body, **extra):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(BULK, data=data, content_type="application/json", **extra)


@pytest.mark.django_db
def test_locate_one_point(client, settings):
    settings.LOCATE_NEAREST_METRES = 200.0
    resp = client.get(URL, {"lon": 117.01, "lat": 36.605})
    assert resp.status_code == 200
    body = resp.json()
    assert body["grid"] == {"code": WS, "name": "西社区第一网格"}
    assert [a["code"] for a in body["ancestors"]] == [
        "37", "3701", "370102", "370102001", "370102001001"]
    assert body["ancestors"][-1] == {"code": "370102001001", "name": "西社区", "level": 5}
    assert body["unassigned"] is False and body["nearest"] is None
    # Only what was promised: no attributes, paths or geometry of the grid.
    assert set(body) == {"lon", "lat", "crs", "grid", "ancestors", "unassigned", "nearest"}


@pytest.mark.django_db
def test_other_communities_grid_is_answered_too(client):
    # Locate is for residents and sensors as well: a staff member of the west community
    # still learns which grid a point in the east community is in (public divisions).
    assert client.get(URL, {"lon": 117.03, "lat": 36.605}).json()["grid"]["code"] == ES


@pytest.mark.django_db
def test_gcj02_point_and_unassigned_point(client, settings):
    settings.LOCATE_NEAREST_METRES = 200.0
    glon, glat = crs.wgs84_to_gcj02(117.015, 36.605)
    body = client.get(URL, {"lon": glon, "lat": glat, "crs": "gcj02"}).json()
    assert body["grid"]["code"] == WS and body["crs"] == "gcj02"
    assert (body["lon"], body["lat"]) == pytest.approx((117.015, 36.605), abs=1e-9)
    assert client.get(URL, {"lon": glon, "lat": glat}).json()["grid"]["code"] == ES

    body = client.get(URL, {"lon": 117.0415, "lat": 36.605}).json()
    assert body["unassigned"] is True and body["grid"] is None and body["ancestors"] == []
    assert body["nearest"]["code"] == ES and 130 < body["nearest"]["metres"] < 140


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "needle"), [
    ({"lon": 117.01, "lat": 36.605, "crs": "epsg:3857"}, "unknown coordinate system"),
    ({"lon": 117.01}, "lat"),
    ({"lon": "east", "lat": 36.605}, "lon"),
    ({"lon": 117.01, "lat": 95.0}, "not a longitude/latitude"),
    ({"lon": "nan", "lat": 36.605}, "not a longitude/latitude"),
])
def test_bad_single_input_is_422_naming_the_problem(client, query, needle):
    resp = client.get(URL, query)
    assert resp.status_code == 422
    assert needle in json.dumps(resp.json())


@pytest.mark.django_db
def test_bulk(client, settings):
    settings.LOCATE_NEAREST_METRES = 200.0
    glon, glat = crs.wgs84_to_gcj02(117.015, 36.605)
    resp = post(client, {"points": [[117.01, 36.605], [117.02, 36.61], [117.0415, 36.605],
                                    [118.0, 37.0], [117.03, 36.615]]})
    assert resp.status_code == 200
    body = resp.json()
    assert body["count"] == 5 and body["assigned"] == 3 and body["crs"] == "wgs84"
    assert [r["grid"] for r in body["results"]] == [WS, WS, None, None, EN]
    assert body["results"][2]["nearest"]["code"] == ES
    assert body["results"][3]["nearest"] is None
    assert set(body["grids"]) == {WS, ES, EN}
    assert body["grids"][EN]["ancestors"][-1]["code"] == "370102001002"
    converted = post(client, {"crs": "GCJ-02", "points": [[glon, glat]]}).json()
    assert converted["results"][0]["grid"] == WS and converted["crs"] == "gcj02"


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "needle"), [
    ({"points": [[117.0, 36.6], [117.0]]}, "points[1]"),
    ({"points": [[117.0, 36.6], [117.0, 36.6], ["117", "36.6"]]}, "points[2]"),
    ({"points": [[117.0, 36.6], [True, 36.6]]}, "points[1]"),
    ({"points": [[117.0, 36.6], [117.0, 36.6, 5.0]]}, "points[1]"),
    ({"points": [[117.0, 36.6], [3_000_000.0, 4_000_000.0]]}, "points[1]"),
    ({"points": [[117.0, 36.6]], "crs": "baidu"}, "unknown coordinate system 'baidu'"),
    ({"crs": "wgs84"}, "points: Field required"),
    ("[[117.0, 36.6]]", "body"),
])
def test_bad_bulk_input_is_422_naming_the_point(client, body, needle):
    resp = post(client, body)
    assert resp.status_code == 422
    assert needle in json.dumps(resp.json(), ensure_ascii=False)


@pytest.mark.django_db
def test_bulk_body_that_is_not_json_is_422(client):
    resp = client.post(BULK, data="lon=117&lat=36", content_type="application/json")
    assert resp.status_code == 422 and "not JSON" in resp.json()["detail"]


@pytest.mark.django_db
def test_bulk_over_the_limit_is_422_naming_the_limit(client, monkeypatch):
    monkeypatch.setattr(locate_api, "MAX_BULK_POINTS", 3)
    assert post(client, {"points": [[117.0, 36.6]] * 3}).status_code == 200
    resp = post(client, {"points": [[117.0, 36.6]] * 4})
    assert resp.status_code == 422
    assert "at most 3 points per request, got 4" in resp.json()["detail"]
    # A body too large to hold that many points is refused before it is read.
    resp = post(client, {"points": [[117.0123456789, 36.6123456789]] * 100})
    assert resp.status_code == 422
    assert "at most 3 points per request" in resp.json()["detail"]


@pytest.mark.django_db
def test_a_full_batch_is_accepted_beyond_the_form_upload_limit(client):
    # 100,000 full-precision points are ~4.5 MB of JSON, past Django's 2.5 MB form limit.
    points = [[117.0 + i * 1.234567891e-7, 36.605 + i * 9.87654321e-8] for i in range(100_000)]
    resp = post(client, {"points": points})
    assert resp.status_code == 200, resp.content[:200]
    body = resp.json()
    assert body["count"] == 100_000 and body["results"][0]["grid"] == WS


@pytest.mark.django_db
def test_anonymous_is_401(tree):
    assert Client().get(URL, {"lon": 117.01, "lat": 36.605}).status_code == 401
    assert post(Client(), {"points": [[117.01, 36.605]]}).status_code == 401


@pytest.mark.django_db
def test_role_without_the_permission_is_403(client, monkeypatch):
    # Every role holds regions.locate today; take it from staff to see that it is checked.
    monkeypatch.setitem(PERMISSIONS, "regions.locate", frozenset({Role.ADMIN}))
    resp = client.get(URL, {"lon": 117.01, "lat": 36.605})
    assert resp.status_code == 403 and resp.json()["permission"] == "regions.locate"
    assert post(client, {"points": [[117.01, 36.605]]}).status_code == 403


@pytest.mark.django_db
def test_machine_token_with_the_locate_scope(tree, admin_user):
    sensor = make_user("sensor1", Role.MACHINE, tree["370102001"])
    _, secret = issue_token(admin_user, username=sensor.username, name="noise sensor",
                            scopes=["regions:locate"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    c = Client()
    resp = c.get(URL, {"lon": 117.03, "lat": 36.615}, **auth)
    assert resp.status_code == 200 and resp.json()["grid"]["code"] == EN
    resp = post(c, {"points": [[117.01, 36.605]]}, **auth)
    assert resp.status_code == 200 and resp.json()["results"][0]["grid"] == WS

    _, read_only = issue_token(admin_user, username=sensor.username, name="reader",
                               scopes=["regions:read"])
    resp = c.get(URL, {"lon": 117.03, "lat": 36.615}, HTTP_AUTHORIZATION=f"Bearer {read_only}")
    assert resp.status_code == 403
    assert c.get(URL, {"lon": 117.0, "lat": 36.6},
                 HTTP_AUTHORIZATION="Bearer wg_not_a_token").status_code == 401
