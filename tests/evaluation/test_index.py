"""The governance index: a score by hand, ranking and trend over two periods, explanations,
weights editing (validation, versions, audit), scope, the API and the pages."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from tests.cases.conftest import IN_EAST, english_client
from tests.evaluation.conftest import at
from tests.factories import make_user
from wangge.accounts.roles import Role
from wangge.accounts.services import issue_token
from wangge.audit.models import AuditRecord
from wangge.evaluation import service
from wangge.evaluation.models import WeightSet

pytestmark = pytest.mark.django_db

STREET, WEST, EAST = "370102001", "370102001001", "370102001002"
WEEK = {"start": "2025-06-09", "end": "2025-06-15"}


@pytest.fixture
def two_weeks(script, people, request):
    """The week before: one case in the east community, done perfectly (on time, rated 5).
    Then the week of conftest.py, where the east community's only case is suspended."""
    p = people
    q = script.report(at(2, 9), actor=p.other_resident, title="案件Q", lon=IN_EAST[0],
                      lat=IN_EAST[1])
    script.run(q, ("register", at(2, 9, 30), p.street_staff),
               ("dispatch", at(2, 9, 30), p.street_staff), ("accept", at(2, 10)),
               ("handle", at(2, 11)), ("verify", at(2, 11, 30), p.other_staff),
               ("rate", at(2, 12), p.other_resident, {"rating": 5}))
    return request.getfixturevalue("week")


def test_a_score_by_hand_its_explanation_and_the_trend(two_weeks, people):
    data = service.ranking(people.command, "community", STREET, **WEEK)
    assert data["previous_period"] == {"start": "2025-06-02", "end": "2025-06-08"}
    rows = {r["unit"]["key"]: r for r in data["rows"]}
    east, west = rows[EAST], rows[WEST]
    # East this week: only F (registered on time, dispatched, then suspended). Available:
    # risk — valid reports, registration rate, on time, hours to register: all 100;
    # efficiency — dispatch accuracy 100 (w 15), handling rate 0 (15), on time 0 (25),
    # extensions 100 (10): 2500/65; problems solved — closure rate 0; no ratings: the
    # satisfaction dimension is left out. (20 × 100 + 30 × 2500/65 + 25 × 0) / 75:
    assert east["score"] == pytest.approx((2000 + 30 * 2500 / 65) / 75, abs=0.01)
    assert east["previous_score"] == 100.0  # every indicator of last week's case at best
    assert east["score_change"] == pytest.approx(east["score"] - 100, abs=0.01)
    # What moved it: the ratings gone (−25 points), no on-time closure, handling not done.
    assert [(m["indicator"], m["points"]) for m in east["movers"]] == [
        ("satisfaction_rate", -25.0), ("closure_on_time_rate", -8.75),
        ("handling_on_time_rate", -7.5)]
    # West had nothing last week: new in the ranking; this week it leads.
    assert west["previous_score"] is None and west["trend"] == "new" and west["movers"] == []
    assert west["score"] > east["score"]
    assert [r["unit"]["key"] for r in data["rows"]] == [WEST, EAST]
    assert (west["rank"], east["rank"], east["previous_rank"]) == (1, 2, 1)
    assert east["trend"] == "down" and east["rank_change"] == -1


def test_the_card_explains_the_score(two_weeks, people):
    card = service.unit_card(people.command, "community", EAST, STREET, **WEEK)
    parts = {i["code"]: i for i in card["indicators"]}
    # The contributions add up to the score; each is weight × score.
    assert sum(i["contribution"] or 0 for i in card["indicators"]) == pytest.approx(
        card["score"], abs=0.05)
    assert parts["dispatch_accuracy"]["contribution"] == pytest.approx(
        30 / 75 * 15 / 65 * 100, abs=0.01)
    assert parts["handling_rate"]["numerator"] == 0 and parts["handling_rate"]["denominator"] == 1
    assert parts["closure_on_time_rate"]["value"] is None
    assert parts["satisfaction_rate"]["previous_value"] == 1.0
    dims = {d["code"]: d for d in card["dimensions"]}
    assert dims["satisfaction"]["score"] is None and dims["satisfaction"]["previous_score"] == 100
    assert card["rank"] == 2 and card["of"] == 2
    with pytest.raises(Http404):
        service.unit_card(people.command, "community", "370102002001", STREET, **WEEK)


def test_scope(week, people, tree):
    street = people.street_staff
    assert [r["unit"]["key"] for r in service.ranking(street, "street", **WEEK)["rows"]] == [
        STREET]
    assert {r["unit"]["key"] for r in service.ranking(street, "community", **WEEK)["rows"]} \
        == {WEST, EAST}
    make_user("gw_s", Role.GRID_WORKER, tree["370102002001001"])
    workers = service.ranking(street, "grid_worker", **WEEK)["rows"]
    assert {r["unit"]["key"] for r in workers} == {"gw_w1", "gw_w2"}  # not the other street's
    with pytest.raises(Http404):
        service.unit_card(street, "grid_worker", "gw_s", **WEEK)
    for node in ("370102002", "370102"):  # the other street; the district above her
        with pytest.raises(Http404):
            service.ranking(street, "community", node, **WEEK)
    with pytest.raises(ValidationError) as bad:
        service.ranking(people.staff, "street", **WEEK)  # a community has no streets
    assert "unit" in bad.value.message_dict
    for who in (people.resident, people.cg, people.grid_worker):
        with pytest.raises(PermissionDenied):
            service.ranking(who, "community", **WEEK)


def _spec(**changes) -> dict:
    spec = json.loads(json.dumps(WeightSet.objects.get(version=1).spec))
    for path, value in changes.items():
        dim, _, ind = path.partition("__")
        d = next(x for x in spec["dimensions"] if x["code"] == dim)
        if ind:
            d["indicators"][ind] = value
        else:
            d["weight"] = value
    return spec


def test_weights_are_validated_versioned_and_audited(week, people):
    admin = people.admin
    before = service.ranking(people.command, "community", STREET, **WEEK)
    cases = [
        (_spec(efficiency__handling_rate=-5), "efficiency.handling_rate", "0 or more"),
        (_spec(efficiency__handling_rate="abc"), "efficiency.handling_rate", "not a number"),
        (_spec(efficiency__photos_taken=10), "efficiency.photos_taken", "unknown indicator"),
        (_spec(efficiency__handling_rate=20), "efficiency", "add up to 105"),
        (_spec(efficiency=35), "dimensions", "add up to 105"),
        (_spec(resolution__satisfaction_rate=10), "satisfaction.satisfaction_rate",
         "already in dimension resolution"),
    ]
    for spec, field, words in cases:
        with pytest.raises(ValidationError) as bad:
            service.save_weights(admin, spec, "试一试")
        assert words in " ".join(bad.value.message_dict[field]), field
    with pytest.raises(ValidationError) as bad:
        service.save_weights(admin, _spec(), "没变")
    assert "nothing changed" in str(bad.value)
    with pytest.raises(ValidationError) as bad:
        service.save_weights(admin, _spec(satisfaction=35, efficiency=20), "")
    assert "note" in bad.value.message_dict
    with pytest.raises(PermissionDenied):
        service.save_weights(people.command, _spec(satisfaction=35, efficiency=20), "想改")
    assert WeightSet.objects.count() == 1
    ws = service.save_weights(admin, _spec(satisfaction=35, efficiency=20), "满意度权重提高")
    assert ws.version == 2 and WeightSet.objects.count() == 2
    audit = AuditRecord.objects.filter(action="evaluation.weights").get()
    detail = json.loads(audit.detail)
    assert audit.actor == admin.username and detail["version"] == 2
    assert detail["changes"] == ["efficiency: 30 → 20", "satisfaction: 25 → 35"]
    # Scores now use version 2; version 1 still explains the old ones.
    after = service.ranking(people.command, "community", STREET, **WEEK)
    old = service.ranking(people.command, "community", STREET, version=1, **WEEK)
    assert after["weights"]["version"] == 2 and old["rows"] == before["rows"]
    assert after["rows"] != before["rows"]
    with pytest.raises(ValidationError) as bad:
        service.ranking(people.command, "community", STREET, version=9, **WEEK)
    assert "version" in bad.value.message_dict


def test_the_api(week, people):
    client = english_client(people.street_staff)
    ok = client.get("/api/v1/evaluation/index", {"unit": "community", **WEEK})
    assert ok.status_code == 200
    assert {r["unit"]["key"] for r in ok.json()["rows"]} == {WEST, EAST}
    values = client.get("/api/v1/evaluation/indicators", {"unit": "street", **WEEK}).json()
    street = values["units"][0]
    assert street["key"] == STREET
    rate = next(i for i in street["indicators"] if i["code"] == "closure_on_time_rate")
    assert (rate["numerator"], rate["denominator"]) == (2, 7)
    for params, field in (({"unit": "planet"}, "unit"), ({"start": "2025-13-01"}, "start"),
                          ({"start": "2025-06-10", "end": "2025-06-01"}, "start"),
                          ({"version": "9"}, "version")):
        bad = client.get("/api/v1/evaluation/index", params)
        assert bad.status_code == 422 and field in bad.json()["errors"], params
    assert client.get("/api/v1/evaluation/indicators",
                      {"unit": "planet"}).json()["errors"]["unit"]
    assert client.get("/api/v1/evaluation/index", {"node": "370102002"}).status_code == 404
    assert english_client(people.resident).get("/api/v1/evaluation/index").status_code == 403
    assert english_client(people.cg).get("/api/v1/evaluation/indicators").status_code == 403
    _, token = issue_token(None, username=people.command.username, name="board",
                           scopes=["evaluation:read"])
    by_token = english_client().get("/api/v1/evaluation/index",
                                    {"unit": "community", "node": STREET, **WEEK},
                                    HTTP_AUTHORIZATION=f"Bearer {token}")
    assert by_token.status_code == 200 and len(by_token.json()["rows"]) == 2
    definitions = client.get("/api/v1/evaluation/definitions").json()
    assert definitions["weights"]["version"] == 1
    assert any(i["code"] == "closure_on_time_rate" and i["denominator"] ==
               "due_for_closure_less_suspended" for i in definitions["indicators"])
    schema = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/evaluation/indicators", "/api/v1/evaluation/index"} <= set(schema["paths"])


def test_the_pages(two_weeks, people):
    command = english_client(people.command)
    page = command.get("/evaluation/", {"unit": "community", "node": STREET, **WEEK})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-key="370102001001" data-rank="1" data-trend="new"' in html
    assert 'data-key="370102001002" data-rank="2" data-trend="down"' in html
    assert "ranking-data" in html and "vendor/echarts/echarts.min.js" in html
    bad = command.get("/evaluation/", {"unit": "planet"})
    assert bad.status_code == 422 and "planet" in bad.content.decode()
    card = command.get(f"/evaluation/unit/community/{EAST}/", {"node": STREET, **WEEK})
    assert card.status_code == 200
    text = card.content.decode()
    assert 'data-indicator="satisfaction_rate"' in text and "unit-data" in text
    assert 'data-indicator="closure_on_time_rate"' in text
    assert command.get("/evaluation/unit/community/370102002001/",
                       {"node": STREET, **WEEK}).status_code == 404
    assert english_client(people.cg).get("/evaluation/").status_code == 403
    assert english_client(people.command).get("/evaluation/weights/").status_code == 403


def test_the_weights_page(week, people):
    admin = english_client(people.admin)
    page = admin.get("/evaluation/weights/")
    assert page.status_code == 200 and 'data-version="1"' in page.content.decode()
    form = {"note": "处置效能更重要"}
    for d in WeightSet.objects.get(version=1).spec["dimensions"]:
        form[f"dim-{d['code']}"] = d["weight"]
        for ind, w in d["indicators"].items():
            form[f"d-{ind}"], form[f"w-{ind}"] = d["code"], w
    bad = admin.post("/evaluation/weights/", {**form, "dim-efficiency": "40"})
    assert bad.status_code == 422 and "add up to 110" in bad.content.decode()
    assert WeightSet.objects.count() == 1
    good = admin.post("/evaluation/weights/", {**form, "dim-efficiency": "40",
                                               "dim-risk": "10"})
    assert good.status_code == 302 and WeightSet.objects.count() == 2
    spec = WeightSet.objects.get(version=2).spec
    assert {d["code"]: d["weight"] for d in spec["dimensions"]}["efficiency"] == 40
    # An indicator taken out of the index: its dimension must still add up to 100.
    out = admin.post("/evaluation/weights/", {**form, "d-rework_rate": "", "note": "去掉返工率"})
    assert out.status_code == 422 and "add up to 80" in out.content.decode()
