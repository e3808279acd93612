"""Workload per grid worker and per grid on the known city of ``staffing_city`` (May 2026):
exact figures, the period rules, scoping, the page (table, CSV, chart) and the API."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from tests.cases.conftest import english_client
from tests.factories import make_user
from tests.gridwork.staffing_city import (
    CAPACITY,
    E1,
    E1_HOURS,
    E2,
    MAY,
    STREET,
    W1,
    W1_HOURS,
    W2,
    WEST,
    by_key,
)
from wangge.accounts.roles import Role
from wangge.core.refusals import Forbidden, Invalid, NotFound
from wangge.gridwork.staffing import service

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def test_workload_per_worker_by_hand(city, command):
    data = service.workload(command, STREET, month=MAY).as_json()
    assert data["period"] == {"start": "2026-05-01", "end": "2026-05-31", "days": 31}
    assert data["capacity_hours"] == pytest.approx(CAPACITY, abs=0.01)
    workers = by_key(data["workers"])
    assert set(workers) == {"w1", "w2", "e1", "e2"}
    w1 = workers["w1"]
    assert {k: w1[k] for k in ("cases_found", "fixed_on_spot", "verifications",
                                "cases_handled", "targets_done", "targets_unable", "visits",
                                "patrols", "households")} == {
        "cases_found": 6, "fixed_on_spot": 2, "verifications": 3, "cases_handled": 5,
        "targets_done": 20, "targets_unable": 4, "visits": 10, "patrols": 2,
        "households": 602}
    assert w1["patrol_hours"] == pytest.approx(4.5)
    assert w1["hours"] == pytest.approx(W1_HOURS, abs=0.01)
    w2 = workers["w2"]
    assert (w2["cases_found"], w2["verifications"], w2["households"]) == (1, 1, 380)
    assert w2["hours"] == pytest.approx(40 / 60, abs=0.01)
    e1 = workers["e1"]
    assert (e1["targets_done"], e1["visits"], e1["patrols"]) == (10, 40, 10)
    assert e1["hours"] == pytest.approx(E1_HOURS, abs=0.01)
    assert workers["e2"]["hours"] == 0 and workers["e2"]["households"] == 3


def test_workload_per_grid_counts_work_where_it_lies(city, command):
    grids = by_key(service.workload(command, STREET, month=MAY).as_json()["grids"])
    assert list(grids) == [W1, W2, E1, E2]
    w1 = grids[W1]
    # w2's verification of a W1 case counts for W1; the resident's reports and the staff
    # member's verification count for nobody.
    assert (w1["cases_found"], w1["fixed_on_spot"], w1["verifications"]) == (6, 2, 4)
    assert (w1["households"], w1["households_declared"], w1["workers"]) == (602, False, 1)
    assert w1["hours"] == pytest.approx(900 / 60 + 4.5, abs=0.01)
    assert (grids[W2]["households"], grids[W2]["households_declared"]) == (380, True)
    assert grids[E2]["households"] == 3  # the registry's count wins over the declared 300
    assert grids[E1]["hours"] == pytest.approx(E1_HOURS, abs=0.01)


def test_a_period_outside_the_work_is_empty_and_bad_periods_are_refused(city, command):
    april = service.workload(command, STREET, month="2026-04").as_json()
    w1 = by_key(april["workers"])["w1"]
    assert (w1["cases_found"], w1["targets_done"], w1["patrols"]) == (1, 3, 1)
    days = service.workload(command, STREET, start="2026-05-05", end="2026-05-06").as_json()
    w1 = by_key(days["workers"])["w1"]
    assert (w1["cases_found"], w1["fixed_on_spot"], w1["patrols"]) == (2, 0, 2)
    with pytest.raises(Invalid) as bad:
        service.workload(command, STREET, month="2026-13")
    assert bad.value.field == "month"
    with pytest.raises(Invalid) as bad:
        service.workload(command, STREET, start="2026-05-10", end="2026-05-01")
    assert bad.value.field == "start"


def test_scope_a_community_sees_only_its_grids(city, command):
    west = make_user("west_chief", Role.STAFF, city.tree[WEST])
    data = service.workload(west, month=MAY).as_json()
    assert [g["key"] for g in data["grids"]] == [W1, W2]
    assert {w["key"] for w in data["workers"]} == {"w1", "w2"}
    with pytest.raises(NotFound):
        service.workload(west, STREET, month=MAY)  # the street above her
    with pytest.raises(NotFound):
        service.workload(west, E1, month=MAY)  # the other community's grid
    for who in (city.workers["w1"], city.resident):
        with pytest.raises(Forbidden):
            service.workload(who, month=MAY)


def test_the_queries_do_not_grow_with_workers(city, command, tree):
    with CaptureQueriesContext(connection) as few:
        service.workload(command, STREET, month=MAY)
    for i in range(12):
        make_user(f"extra{i}", Role.GRID_WORKER, tree[[W1, W2, E1, E2][i % 4]])
    with CaptureQueriesContext(connection) as many:
        service.workload(command, STREET, month=MAY)
    assert len(many.captured_queries) == len(few.captured_queries) <= 15


def test_the_page_csv_and_chart(city, command):
    client = english_client(command)
    page = client.get("/gridwork/staffing/", {"node": STREET, "month": MAY})
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-key="{W1}" data-status="overloaded"' in html
    assert 'data-key="w1"' in html and "workload-data" in html
    assert "vendor/echarts/echarts.min.js" in html and "cdn" not in html.lower()
    got = client.get("/gridwork/staffing/", {"node": STREET, "month": MAY, "csv": "workers"})
    assert got.status_code == 200 and got["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["code", "name"] and len(rows) == 5
    w1 = next(r for r in rows if r[0] == "w1")
    assert w1[rows[0].index("cases found")] == "6"
    grids = client.get("/gridwork/staffing/", {"node": STREET, "month": MAY, "csv": "grids"})
    table = list(csv.reader(io.StringIO(grids.content.decode("utf-8-sig"))))
    assert [r[table[0].index("load")] for r in table[1:]] == [
        "overloaded", "ok", "light", "light"]
    bad = client.get("/gridwork/staffing/", {"month": "May"})
    assert bad.status_code == 422
    assert english_client(city.workers["w1"]).get("/gridwork/staffing/").status_code == 403
    assert client.get("/gridwork/staffing/", {"node": "999"}).status_code == 404


def test_the_api(city, command):
    client = english_client(command)
    ok = client.get("/api/v1/gridwork/staffing/workload", {"node": STREET, "month": MAY})
    assert ok.status_code == 200
    assert by_key(ok.json()["workers"])["w1"]["cases_found"] == 6
    bad = client.get("/api/v1/gridwork/staffing/workload", {"month": "2026-5x"})
    assert bad.status_code == 422 and bad.json()["field"] == "month"
    assert english_client(city.resident).get(
        "/api/v1/gridwork/staffing/workload").status_code == 403
    west = english_client(city.staff)
    assert west.get("/api/v1/gridwork/staffing/workload",
                    {"node": E1}).status_code == 404


def test_every_case_event_time_is_in_the_local_day(city, command):
    """A report at 23:00 local time on 30 April is April's, though it is 15:00 UTC."""
    w1 = by_key(service.workload(command, W1, start="2026-04-30",
                                  end="2026-04-30").as_json()["workers"])["w1"]
    assert w1["cases_found"] == 1
    may_first = service.workload(command, W1, start="2026-05-01", end="2026-05-01")
    assert by_key(may_first.as_json()["workers"])["w1"]["cases_found"] == 0
