"""The one map's layers: areas coloured by each measure, case points without personal data,
the heat, key places; scope, roles and bad input named."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from shapely.geometry import Point, shape

from tests.cases.conftest import english_client
from tests.command.city import (
    ADDRESS_D,
    EAST,
    MASKED,
    OTHER_STREET,
    PHONE,
    STREET,
    TITLE_D,
    WEST,
)
from wangge.cases import escalation
from wangge.cases.models import Case
from wangge.command.layers import MEASURES, NO_DATA, PALETTE, class_bounds, colour_scheme
from wangge.regions.models import Region
from wangge.registry.demo import seed_places
from wangge.registry.models import Place, PlaceKind

pytestmark = pytest.mark.django_db

AREAS = "/api/v1/command/map/areas"
CASES = "/api/v1/command/map/cases"
HEAT = "/api/v1/command/map/heat"
PLACES = "/api/v1/command/map/places"


def _by_code(collection: dict) -> dict:
    return {f["properties"]["code"]: f["properties"] for f in collection["features"]}


def test_areas_are_coloured_by_each_measure(small_city, people):
    client = english_client(people.command)
    opened = client.get(AREAS, {"node": STREET, "measure": "open"}).json()
    kids = _by_code(opened)
    assert {c: p["value"] for c, p in kids.items()} == {WEST: 2, EAST: 1}
    assert kids[WEST]["colour"] == PALETTE[-1] and kids[EAST]["colour"] == PALETTE[0]
    assert [e["label"] for e in opened["legend"]] == ["1", "2"]
    assert opened["node"]["properties"]["code"] == STREET
    assert opened["node"]["geometry"]["type"] == "Polygon"

    # Reported in the period per 1,000 households: west 4 / 800, east 1 / 650.
    work = _by_code(client.get(AREAS, {"node": STREET, "measure": "workload"}).json())
    assert (work[WEST]["value"], work[EAST]["value"]) == (5.0, 1.5)
    assert work[WEST]["display"] == "5.0"

    # Satisfaction: west was rated (100 %); nobody rated in the east: no figure, grey.
    sat = client.get(AREAS, {"node": STREET, "measure": "satisfaction"}).json()
    kids = _by_code(sat)
    assert (kids[WEST]["value"], kids[EAST]["value"]) == (1.0, None)
    assert kids[WEST]["display"] == "100.0%" and kids[EAST]["colour"] == NO_DATA
    assert sat["legend"][-1] == {"colour": NO_DATA, "label": "not available"}

    # Overdue: nothing yet; after a week and more every open case is past its deadline.
    assert {p["value"] for p in _by_code(client.get(
        AREAS, {"node": STREET, "measure": "overdue"}).json()).values()} == {0}
    escalation.escalate_overdue(now=timezone.now() + timedelta(days=9))
    late = _by_code(client.get(AREAS, {"node": STREET, "measure": "overdue"}).json())
    assert (late[WEST]["value"], late[EAST]["value"]) == (2, 1)


def test_a_grid_is_drawn_as_itself_with_its_value(small_city, people):
    grid = english_client(people.command).get(AREAS, {"node": f"{WEST}001"}).json()
    assert grid["features"] == []
    node = grid["node"]["properties"]
    assert node["code"] == f"{WEST}001" and node["value"] == 2 and node["colour"]


def test_satisfaction_paints_the_lowest_darkest():
    colours, legend = colour_scheme([0.5, 0.9, None, 1.0], MEASURES["satisfaction"])
    assert colours[0] == PALETTE[-1] and colours[3] == PALETTE[0] and colours[2] == NO_DATA
    assert [e["label"] for e in legend] == ["50.0%", "90.0%", "100.0%", "not available"]
    counts, legend = colour_scheme(list(range(20)), MEASURES["open"])
    assert counts[0] == PALETTE[0] and counts[-1] == PALETTE[-1]
    assert [e["label"] for e in legend] == ["0–3", "4–7", "8–11", "12–15", "16–19"]
    assert class_bounds([3, 3, 3]) == [3]


def test_case_points_carry_no_personal_data(small_city, people):
    client = english_client(people.command)
    response = client.get(CASES, {"node": STREET})
    assert response.status_code == 200 and response["Content-Type"] == "application/geo+json"
    body = response.json()
    d = small_city["d"]
    assert d.reporter_contact_masked == MASKED  # the case does hold it …
    text = json.dumps(body, ensure_ascii=False)
    # … but no point says it, nor the title, the address or who reported or raised it.
    for secret in (PHONE, MASKED, "****", TITLE_D, ADDRESS_D, "gw_w1", "resident_w",
                   people.grid_worker.display_name, "路边垃圾堆放"):
        assert secret not in text, secret
    assert body["total"] == body["shown"] == 5
    points = _by_code(body)
    assert set(points) == {small_city[k].code for k in "abcde"}
    assert set(points[d.code]) == {"code", "category", "state", "state_label", "light",
                                   "light_label", "url"}
    assert points[d.code]["url"] == f"/cases/{d.code}/"
    assert points[d.code]["category"] == "暴露垃圾" and points[d.code]["state"] == "reported"
    assert points[small_city["a"].code]["light"] == ""  # closed: no deadline running
    assert points[d.code]["light"] == "green"
    # A deadline already past shows red.
    Case.objects.filter(pk=d.pk).update(due_at=timezone.now() - timedelta(hours=1))
    assert _by_code(client.get(CASES, {"node": STREET}).json())[d.code]["light"] == "red"


def test_case_points_newest_first_capped_with_the_total(small_city, people):
    body = english_client(people.command).get(CASES, {"node": STREET, "limit": 2}).json()
    assert (body["shown"], body["total"]) == (2, 5)
    assert [f["id"] for f in body["features"]] == [small_city["e"].code, small_city["d"].code]
    old = english_client(people.command).get(
        CASES, {"node": STREET, "start": "2020-01-01", "end": "2020-01-31"}).json()
    assert old["total"] == 0 and old["features"] == []
    road = english_client(people.command).get(CASES, {"node": STREET, "category": "road"})
    assert road.json()["total"] == 0
    env = english_client(people.command).get(CASES, {"node": WEST, "category": "env"})
    assert env.json()["total"] == 4


def test_heat_counts_every_case_in_cells(small_city, people):
    heat = english_client(people.command).get(HEAT, {"node": "370102"}).json()
    assert heat["total"] == 6 and heat["max"] >= 1
    for lat, lon, n in heat["cells"]:
        assert 36.59 < lat < 36.62 and 117.0 < lon < 117.13 and n >= 1
    # Four cases (A–D) share one west point, so its cell holds them all.
    assert heat["max"] == 4


def test_key_places_are_scoped_and_filtered(tree, people):
    west_grid, south_grid = tree[f"{WEST}001"], tree[f"{OTHER_STREET}001001"]
    Place.objects.create(kind=PlaceKind.SCHOOL, name="解放路小学", lon=117.01, lat=36.605,
                         region=west_grid)
    Place.objects.create(kind=PlaceKind.HAZARDOUS_CHEMICALS, name="千佛山加油站",
                         lon=117.11, lat=36.605, region=south_grid)
    assert Place.objects.get(name="解放路小学").region_path == west_grid.path
    district = english_client(people.command).get(PLACES, {"node": "370102"}).json()
    assert {f["properties"]["name"] for f in district["features"]} == {"解放路小学",
                                                                       "千佛山加油站"}
    schools = english_client(people.command).get(
        PLACES, {"node": "370102", "kind": "school"}).json()
    assert [f["properties"]["kind_label"] for f in schools["features"]] == ["school"]
    own = english_client(people.staff).get(PLACES).json()  # west community staff
    assert [f["properties"]["name"] for f in own["features"]] == ["解放路小学"]
    assert english_client(people.staff).get(
        PLACES, {"node": f"{OTHER_STREET}001"}).status_code == 404


@pytest.mark.parametrize(("url", "query", "field"), [
    (AREAS, {"measure": "beauty"}, "measure"),
    (AREAS, {"start": "2026-02-30"}, "start"),
    (AREAS, {"category": "env.garbage"}, "category"),
    (CASES, {"limit": 0}, "limit"),
    (CASES, {"limit": 5000}, "limit"),
    (CASES, {"category": "nope"}, "category"),
    (HEAT, {"end": "soon"}, "end"),
    (PLACES, {"kind": "school,zoo"}, "kind"),
])
def test_bad_layer_questions_are_named(small_city, people, url, query, field):
    response = english_client(people.command).get(url, {"node": STREET, **query})
    assert response.status_code == 422
    assert field in response.json()["errors"]


def test_layers_are_scoped_and_for_the_map_roles_only(small_city, people):
    staff = english_client(people.staff)  # the west community
    for url in (AREAS, CASES, HEAT, PLACES):
        assert staff.get(url, {"node": EAST}).status_code == 404
        assert staff.get(url, {"node": "999999"}).status_code == 404
        for user in (people.resident, people.grid_worker, people.cg):
            assert english_client(user).get(url).status_code == 403
    own = staff.get(CASES).json()  # her own node by default
    assert own["total"] == 4
    assert english_client(people.south_staff).get(CASES).json()["total"] == 1


def test_a_wall_display_reads_the_layers_with_a_map_token(small_city, people):
    from wangge.accounts.services import issue_token

    _, token = issue_token(None, username=people.staff.username, name="wall",
                           scopes=["command:map"])
    display = english_client()
    own = display.get(CASES, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert own.status_code == 200 and own.json()["total"] == 4
    assert display.get(CASES, {"node": EAST},
                       HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 404
    _, other = issue_token(None, username=people.staff.username, name="figures only",
                           scopes=["figures:read"])
    assert display.get(CASES, HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 403


def test_demo_places_lie_in_their_grids(tree):
    n = seed_places(7, within=["370102"])
    assert n == Place.objects.count() and n >= 2 * 4  # at least 4 a street, two streets
    for place in Place.objects.select_related("region"):
        assert place.region.level == 6 and place.region_path == place.region.path
        assert shape(place.region.geometry).contains(Point(place.lon, place.lat))
    kinds = set(Place.objects.values_list("kind", flat=True))
    assert {"school", "hospital", "market", "elderly_care"} <= kinds
    again = [(p.kind, p.name, p.lon, p.lat) for p in Place.objects.order_by("id")]
    Place.objects.all().delete()
    seed_places(7, within=["370102"])
    assert [(p.kind, p.name, p.lon, p.lat) for p in Place.objects.order_by("id")] == again
    assert Region.objects.filter(places__isnull=False).exists()
