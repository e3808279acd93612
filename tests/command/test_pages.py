"""The figures pages and the map page: the numbers a leader reads, drill down and up, scope,
roles, and bad filters named."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from tests.cases.conftest import english_client
from tests.command.city import EAST, OTHER_STREET, STREET, WEST
from wangge.command.service import choose_period
from wangge.figures import fold
from wangge.figures.service import trend

pytestmark = pytest.mark.django_db


def _cell(html: str, key: str, within: str = "") -> str:
    """The text of ``<dd data-key=key>`` (or a table cell) — within a row's HTML if given."""
    found = re.search(rf'data-key="{key}">([^<]*)<', within or html)
    assert found, f"no {key} on the page"
    return found.group(1).strip()


def _row(html: str, code: str) -> str:
    found = re.search(rf'<tr data-code="{code}">(.*?)</tr>', html, re.S)
    assert found, f"no row for {code}"
    return found.group(1)


@pytest.mark.parametrize("folded", [False, True])
def test_a_district_leader_reads_a_streets_figures(small_city, people, folded):
    if folded:
        fold.fold_all()
    response = english_client(people.command).get(f"/command/{STREET}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert {k: _cell(html, k) for k in ("reported", "registered", "closed", "closed_on_time",
                                        "satisfaction", "open", "overdue")} == {
        "reported": "5", "registered": "2", "closed": "1", "closed_on_time": "100.0%",
        "satisfaction": "100.0%", "open": "3", "overdue": "0"}
    # Open by stage, in the workflow's order.
    stages = re.findall(r'<tr data-state="(\w+)"><td>[^<]*</td><td class="num">(\d+)<', html)
    assert stages == [("reported", "2"), ("registered", "1")]
    # The children table: each community with its own numbers, linked for the drill-down.
    west, east = _row(html, WEST), _row(html, EAST)
    assert [_cell(html, k, west) for k in ("reported", "closed", "open", "overdue",
                                           "satisfaction")] == ["4", "1", "2", "0", "100.0%"]
    assert [_cell(html, k, east) for k in ("reported", "closed", "open", "overdue",
                                           "satisfaction")] == ["1", "0", "1", "0", "—"]
    assert f'href="/command/{WEST}/"' in west
    # Drill up: the district above is linked; the map is one click away.
    assert 'href="/command/370102/"' in html
    assert f'href="/command/map/{STREET}/"' in html
    # The charts' data: today's reports and closures, by stage, by child.
    assert '"reported": [' in html and 'id="chart-trend"' in html


def test_drilling_keeps_the_question(small_city, people):
    client = english_client(people.command)
    html = client.get(f"/command/{STREET}/", {"period": "7d", "category": "env"}
                      ).content.decode()
    assert f'href="/command/{WEST}/?period=7d&amp;category=env"' in html
    assert _cell(html, "reported") == "5"
    west = client.get(f"/command/{WEST}/", {"period": "7d", "category": "env"}).content.decode()
    assert _cell(west, "reported") == "4"
    assert 'href="/command/370102001/?period=7d&amp;category=env"' in west
    # Nothing of "road" happened: the same page for that category is all zeros.
    road = client.get(f"/command/{STREET}/", {"category": "road"}).content.decode()
    assert _cell(road, "reported") == "0" and _cell(road, "open") == "0"


def test_a_period_without_events_still_shows_standing_cases(small_city, people):
    response = english_client(people.command).get(f"/command/{STREET}/",
                                                  {"period": "last_month"})
    assert response.status_code == 200
    html = response.content.decode()
    assert _cell(html, "reported") == "0" and _cell(html, "open") == "3"
    assert _cell(html, "satisfaction") == "—"


def test_staff_see_their_own_node_and_nothing_beside_it(small_city, people):
    staff = english_client(people.staff)  # the west community
    own = staff.get("/command/")
    assert own.status_code == 200
    html = own.content.decode()
    assert 'data-testid="node-name">西社区<' in html and _cell(html, "reported") == "4"
    assert staff.get(f"/command/{EAST}/").status_code == 404
    assert staff.get(f"/command/{STREET}/").status_code == 404
    assert english_client(people.south_staff).get(f"/command/{STREET}/").status_code == 404
    assert english_client(people.street_staff).get(
        f"/command/{OTHER_STREET}/").status_code == 404


def test_a_handler_sees_her_departments_figures_only(small_city, people):
    client = english_client(people.cg)
    html = client.get(f"/command/{STREET}/").content.decode()
    assert 'data-testid="filter-label">区城管局<' in html
    assert 'data-testid="handler-note"' in html and 'name="department"' not in html
    # Her department closed A; reports are nobody's department, so "new" is 0 for her.
    assert _cell(html, "closed") == "1" and _cell(html, "reported") == "0"
    assert _cell(html, "open") == "0"  # C was returned: CG holds nothing now
    other = client.get(f"/command/{STREET}/", {"department": "ZJ"})
    assert other.status_code == 422
    assert "department:" in other.content.decode()


def test_who_may_open_the_pages(small_city, people):
    assert english_client(people.resident).get("/command/").status_code == 403
    assert english_client(people.grid_worker).get("/command/").status_code == 200
    for user in (people.resident, people.grid_worker, people.cg):
        assert english_client(user).get("/command/map/").status_code == 403
    for user in (people.command, people.street_staff, people.staff, people.admin):
        assert english_client(user).get("/command/map/").status_code == 200
    anonymous = english_client().get("/command/map/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


@pytest.mark.parametrize(("query", "field"), [
    ({"period": "fortnight"}, "period"),
    ({"start": "2026-13-01"}, "start"),
    ({"start": "2026-03-10", "end": "2026-03-01"}, "start"),
    ({"category": "nope"}, "category"),
    ({"category": "env.garbage"}, "category"),  # second level: figures keep top level
    ({"source": "pigeon"}, "source"),
    ({"category": "env", "source": "hotline"}, "source"),  # one breakdown at a time
])
def test_a_bad_question_is_named_not_answered(small_city, people, query, field):
    response = english_client(people.command).get(f"/command/{STREET}/", query)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-testid="errors"' in html and f"{field}:" in html
    assert 'data-testid="headline"' not in html


def test_the_map_page_names_bad_filters(small_city, people):
    client = english_client(people.command)
    for query, field in (({"measure": "beauty"}, "measure"), ({"source": "hotline"}, "source"),
                         ({"category": "zzz"}, "category"), ({"end": "yesterday"}, "end")):
        response = client.get(f"/command/map/{STREET}/", query)
        assert response.status_code == 422, query
        assert f"{field}:" in response.content.decode()
    assert client.get(f"/command/map/{OTHER_STREET}9/").status_code == 404
    assert english_client(people.staff).get(f"/command/map/{EAST}/").status_code == 404


def test_the_map_page_carries_its_question_to_the_layers(small_city, people):
    html = english_client(people.command).get(
        f"/command/map/{STREET}/", {"measure": "workload", "period": "7d", "category": "env"}
    ).content.decode()
    today = timezone.localdate()
    assert '"measure": "workload"' in html
    assert f'"start": "{(today - timedelta(days=6)).isoformat()}"' in html
    assert '"category": "env"' in html
    assert '"query": "period=7d\\u0026category=env\\u0026measure=workload"' in html
    assert "/api/v1/command/map/areas" in html
    assert 'data-testid="grid-page"' not in html  # a street is no grid
    grid = english_client(people.command).get(f"/command/map/{WEST}001/").content.decode()
    assert 'data-testid="grid-page"' in grid and f'href="/regions/{WEST}001/detail/"' in grid


def test_presets_cover_the_periods_leaders_ask_for(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *a: date(2026, 3, 15))
    assert (choose_period("today").start, choose_period("today").end) == (
        date(2026, 3, 15), date(2026, 3, 15))
    assert choose_period("7d").start == date(2026, 3, 9)
    assert choose_period("").start == date(2026, 2, 14)  # the last 30 days
    assert (choose_period("month").start, choose_period("month").end) == (
        date(2026, 3, 1), date(2026, 3, 15))
    assert (choose_period("last_month").start, choose_period("last_month").end) == (
        date(2026, 2, 1), date(2026, 2, 28))
    custom = choose_period("", "2026-01-01", "2026-01-31")
    assert (custom.key, custom.start, custom.end) == ("custom", date(2026, 1, 1),
                                                      date(2026, 1, 31))
    assert choose_period("7d", "2026-01-01", "2026-01-31").key == "7d"  # the picker wins


def test_the_trend_counts_each_day_before_and_after_folding(small_city, people):
    today = timezone.localdate()
    for folded in (False, True):
        if folded:
            fold.fold_all()
        series = trend(people.command, STREET, today - timedelta(days=6), today,
                       flows=("reported", "closed"))
        assert series["grain"] == "day" and len(series["points"]) == 7
        assert series["points"][-1] == today.isoformat()
        assert series["series"]["reported"] == [0] * 6 + [5]
        assert series["series"]["closed"] == [0] * 6 + [1]
    # Below the street a filtered series is recounted from the community's own cases.
    west = trend(people.command, WEST, today, today, department="CG", flows=("closed",))
    assert west["series"]["closed"] == [1]
    year = trend(people.command, STREET, today - timedelta(days=364), today)
    assert year["grain"] == "month" and sum(year["series"]["reported"]) == 5
    assert len(year["points"]) in (12, 13)


def test_the_trend_api_names_a_bad_flow(small_city, people):
    client = english_client(people.command)
    ok = client.get("/api/v1/figures/trend", {"node": STREET, "flows": "reported"})
    assert ok.status_code == 200 and ok.json()["series"]["reported"][-1] == 5
    bad = client.get("/api/v1/figures/trend", {"node": STREET, "flows": "reported,joy"})
    assert bad.status_code == 422 and "flows" in bad.json()["errors"]
    assert english_client(people.staff).get(
        "/api/v1/figures/trend", {"node": EAST}).status_code == 404
