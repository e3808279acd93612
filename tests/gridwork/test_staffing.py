"""The staffing model and split/merge proposals on the known city of ``staffing_city``:
needed against actual workers, overloaded and light grids, a split that halves the
households, a merge of touching light grids, idempotent recompute, decisions and scope."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from shapely.geometry import shape

from tests.cases.conftest import english_client
from tests.factories import make_user
from tests.gridwork.staffing_city import (
    CAPACITY,
    E1,
    E1_HOURS,
    E2,
    EAST,
    MAY,
    STREET,
    W1,
    W2,
    WEST,
    by_key,
)
from wangge.accounts.roles import Role
from wangge.audit.models import AuditRecord
from wangge.core.refusals import Conflict, Forbidden, Invalid, NotFound
from wangge.gridwork.models import GridProposal, ProposalStatus
from wangge.gridwork.staffing import norms, proposals, service
from wangge.regions.models import Region

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def test_needed_workers_per_community_by_hand(city, command):
    data = service.staffing(command, STREET, month=MAY).as_json()
    rows = by_key(data["communities"])
    # West: 602 ÷ 400 + 380 ÷ 400 = 2.455 households-wise (hours far less) → 3; it has 2.
    assert (rows[WEST]["needed"], rows[WEST]["workers"], rows[WEST]["gap"]) == (3, 2, 1)
    assert rows[WEST]["households"] == 982 and rows[WEST]["overloaded"] == 1
    # East: 100 ÷ 300 (commercial) + 3 ÷ 400 = 0.34 < hours 52.5 ÷ 124 = 0.42 → 1; it has 2.
    assert (rows[EAST]["needed"], rows[EAST]["workers"], rows[EAST]["gap"]) == (1, 2, -1)
    assert rows[EAST]["light"] == 2
    assert data["model"]["thresholds"] == {"overloaded": 1.2, "light": 0.5}


def test_grid_loads_by_hand(city, command):
    grids = by_key(service.staffing(command, STREET, month=MAY).as_json()["grids"])
    assert grids[W1]["load"] == pytest.approx(602 / 400, abs=0.01)
    assert grids[W1]["status"] == "overloaded"
    assert grids[W2]["load"] == pytest.approx(380 / 400, abs=0.01)
    assert grids[W2]["status"] == "ok"
    assert grids[E1]["load"] == pytest.approx(E1_HOURS / CAPACITY, abs=0.01)  # workload rules
    assert grids[E1]["status"] == "light" and grids[E1]["kind"] == "commercial"
    assert grids[E2]["load"] == pytest.approx(3 / 400, abs=0.005)
    assert grids[E2]["status"] == "light"


def test_a_grid_without_a_worker_is_flagged(city, command):
    city.workers["e2"].is_active = False
    city.workers["e2"].save()
    grids = by_key(service.staffing(command, STREET, month=MAY).as_json()["grids"])
    assert grids[E2]["workers"] == 0 and grids[E2]["load"] is None
    assert grids[E2]["status"] == "no_worker"
    assert norms.load_status(None) == "no_worker" and norms.load_status(1.21) == "overloaded"
    assert norms.load_status(1.2) == "ok" and norms.load_status(0.49) == "light"


def test_split_halves_cover_the_grid_and_the_households(city, command):
    made = proposals.compute(command, STREET, month=MAY)
    split = next(p for p in made if p.kind == "split")
    assert split.grids == [W1] and split.community.code == WEST
    halves = split.geometry["features"]
    assert len(halves) == 2
    grid = shape(city.tree[W1].geometry)
    a, b = (shape(f["geometry"]) for f in halves)
    assert a.union(b).symmetric_difference(grid).area < 1e-12  # together: the grid
    assert a.intersection(b).area < 1e-12  # no overlap
    # Cut across the long (east-west) axis between the 3rd and 4th buildings: 300 + 300
    # placed households, the 2 without a building shared evenly.
    assert split.figures["axis"] == "lon" and split.figures["method"] == "buildings"
    assert split.figures["cut"] == pytest.approx(117.009)
    assert [f["properties"]["households"] for f in halves] == [301, 301]
    assert split.figures["grids"][0]["status"] == "overloaded"


def test_split_without_buildings_goes_through_the_centroid():
    geometry = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 3], [0, 3], [0, 0]]]}
    cut = proposals.split_grid(geometry, [], 100)
    assert (cut["axis"], cut["method"], cut["cut"]) == ("lat", "centroid", 1.5)
    assert [f["properties"]["households"] for f in cut["features"]] == [50, 50]


def test_merge_of_touching_light_grids(city, command):
    made = proposals.compute(command, STREET, month=MAY)
    merge = next(p for p in made if p.kind == "merge")
    assert merge.grids == [E1, E2] and merge.community.code == EAST
    (feature,) = merge.geometry["features"]
    union = shape(city.tree[E1].geometry).union(shape(city.tree[E2].geometry))
    assert shape(feature["geometry"]).symmetric_difference(union).area < 1e-12
    assert feature["properties"]["households"] == 103
    assert merge.figures["merged"]["load"] <= 1
    assert len(made) == 2  # W2 is balanced: nothing proposed for it


def test_grids_meeting_at_a_corner_do_not_touch():
    a = shape({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]})
    b = shape({"type": "Polygon", "coordinates": [[[1, 1], [2, 1], [2, 2], [1, 2], [1, 1]]]})
    c = shape({"type": "Polygon", "coordinates": [[[1, 0], [2, 0], [2, 1], [1, 1], [1, 0]]]})
    assert not proposals.share_edge(a, b) and proposals.share_edge(a, c)


def test_recompute_is_idempotent(city, command):
    first = proposals.compute(command, STREET, month=MAY)
    again = proposals.compute(command, STREET, month=MAY)
    assert sorted(p.pk for p in again) == sorted(p.pk for p in first)
    assert GridProposal.objects.count() == 2
    # A decided proposal is history: computing again opens a new one for review.
    split = next(p for p in first if p.kind == "split")
    proposals.decide(command, split.pk, "reject", "先增配网格员")
    third = proposals.compute(command, STREET, month=MAY)
    assert GridProposal.objects.count() == 3
    assert split.pk not in {p.pk for p in third}
    assert AuditRecord.objects.filter(action="gridwork.proposal.create").count() == 3


def test_decisions_need_the_command_centre(city, command):
    split, merge = sorted(proposals.compute(command, STREET, month=MAY), key=lambda p: p.kind,
                          reverse=True)
    regions_before = list(Region.objects.order_by("pk").values_list("pk", "geometry"))
    with pytest.raises(Forbidden):
        proposals.decide(city.staff, split.pk, "accept", "同意")  # staff may compute only
    with pytest.raises(Invalid) as bad:
        proposals.decide(command, split.pk, "reject", "  ")
    assert bad.value.field == "note"
    with pytest.raises(Invalid):
        proposals.decide(command, split.pk, "approve", "")
    done = proposals.decide(command, split.pk, "accept", "同意拆分，报区划管理员调整")
    assert done.status == ProposalStatus.ACCEPTED and done.decided_by == command
    assert proposals.decide(command, split.pk, "accept").status == ProposalStatus.ACCEPTED
    with pytest.raises(Conflict, match="already accepted"):
        proposals.decide(command, split.pk, "reject", "改主意")
    records = AuditRecord.objects.filter(action="gridwork.proposal.accept")
    assert records.count() == 1
    assert json.loads(records.get().detail)["grids"] == [W1]
    # The regions tree is untouched: the administrator applies it.
    assert list(Region.objects.order_by("pk").values_list("pk", "geometry")) == regions_before
    other = make_user("qf_cmd", Role.COMMAND, city.tree["370102002"])
    with pytest.raises(NotFound):
        proposals.decide(other, merge.pk, "accept")


def test_scope_a_community_sees_only_its_grids_and_proposals(city, command):
    proposals.compute(command, STREET, month=MAY)
    west = city.staff
    data = service.staffing(west, month=MAY).as_json()
    assert [c["key"] for c in data["communities"]] == [WEST]
    assert [g["key"] for g in data["grids"]] == [W1, W2]
    assert [p.grids for p in proposals.visible_proposals(west)] == [[W1]]
    with pytest.raises(NotFound):
        service.staffing(west, EAST, month=MAY)
    with pytest.raises(Invalid):
        service.staffing(west, W1, month=MAY)  # a grid has no communities


def test_the_pages(city, command):
    client = english_client(command)
    plan = client.get("/gridwork/staffing/plan/", {"node": STREET, "month": MAY})
    assert plan.status_code == 200
    html = plan.content.decode()
    assert f'data-key="{WEST}" data-needed="3" data-workers="2"' in html
    assert f'data-key="{W1}" data-status="overloaded"' in html
    assert "vendor/leaflet/leaflet.js" in html and "staffing-map-data" in html
    made = client.post("/gridwork/staffing/proposals/compute/", {"node": STREET,
                                                                  "month": MAY})
    assert made.status_code == 302 and GridProposal.objects.count() == 2
    listing = client.get("/gridwork/staffing/proposals/", {"node": STREET})
    text = listing.content.decode()
    assert listing.status_code == 200 and text.count('data-testid="proposal"') == 2
    assert "regions administrator" in text and "proposal-map-data" in text
    split = GridProposal.objects.get(kind="split")
    staff = english_client(city.staff)
    assert "The command centre decides" in staff.get("/gridwork/staffing/proposals/").content \
        .decode()
    refused = staff.post(f"/gridwork/staffing/proposals/{split.pk}/accept/", {"note": "x"})
    assert refused.status_code == 403
    ok = client.post(f"/gridwork/staffing/proposals/{split.pk}/reject/", {"note": "暂缓"})
    assert ok.status_code == 302
    split.refresh_from_db()
    assert split.status == ProposalStatus.REJECTED and split.note == "暂缓"
    no_note = client.post(f"/gridwork/staffing/proposals/{split.pk}/accept/", {"note": ""})
    assert no_note.status_code == 409


def test_the_api(city, command):
    client = english_client(command)
    plan = client.get("/api/v1/gridwork/staffing/plan", {"node": STREET, "month": MAY})
    assert plan.status_code == 200 and len(plan.json()["communities"]) == 2
    made = client.post("/api/v1/gridwork/staffing/proposals/compute",
                       {"node": STREET, "month": MAY}, content_type="application/json")
    assert made.status_code == 200 and {p["kind"] for p in made.json()} == {"split", "merge"}
    pk = next(p["id"] for p in made.json() if p["kind"] == "merge")
    staff = english_client(city.staff)
    assert staff.post(f"/api/v1/gridwork/staffing/proposals/{pk}/accept", {},
                      content_type="application/json").status_code == 403
    ok = client.post(f"/api/v1/gridwork/staffing/proposals/{pk}/accept",
                     {"note": "合并"}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["status"] == "accepted"
    assert ok.json()["decided_by"] == command.username
    listed = client.get("/api/v1/gridwork/staffing/proposals", {"status": "accepted"})
    assert [p["id"] for p in listed.json()] == [pk]
    assert client.get("/api/v1/gridwork/staffing/proposals",
                      {"status": "maybe"}).status_code == 422


def test_the_command(city, command, capsys):
    call_command("gridwork_proposals", user=command.username, node=STREET, month=MAY)
    call_command("gridwork_proposals", user=command.username, node=STREET, month=MAY)
    assert GridProposal.objects.count() == 2
    assert "2 proposals" in capsys.readouterr().out
    with pytest.raises(CommandError, match="no active account"):
        call_command("gridwork_proposals", user="nobody")
    with pytest.raises(CommandError):
        call_command("gridwork_proposals", user=city.workers["w1"].username)
