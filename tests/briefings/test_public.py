"""The public transparency page and its JSON: open without login, aggregates and the matters
list for public nodes only, nothing personal, cached."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.core.cache import cache

from tests.briefings.conftest import STREET
from tests.briefings.test_briefings import _assert_no_personal_data
from tests.cases.conftest import english_client
from wangge.briefings import public
from wangge.regions.models import Region

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_figures_for_the_last_30_days_and_this_year_counted_by_hand(history):
    street = Region.objects.get(code=STREET)
    data = public.figures(street, today=date(2026, 3, 20))
    recent, year = data["windows"]["last_30_days"], data["windows"]["this_year"]
    assert (recent["start"], recent["end"]) == ("2026-02-19", "2026-03-20")
    # Every source counts in the figures: A B C E G and H (20 February) were received.
    assert (recent["received"], recent["closed"]) == (6, 2)
    assert recent["closed_on_time_share"] == 1.0 and recent["satisfaction"] == 0.5
    # A: received 10:00, closed 12:00 (2 h); G: 09:00 to 15:00 (6 h) → 4 calendar hours.
    assert recent["average_hours_to_close"] == 4.0
    assert year["start"] == "2026-01-01" and year["received"] == 6
    assert [m["month"] for m in data["by_month"]] == ["2026-01", "2026-02", "2026-03"]
    assert [(m["received"], m["closed"]) for m in data["by_month"]] == [(0, 0), (1, 0), (5, 2)]
    empty = public.figures(street, today=date(2026, 6, 30))["windows"]["last_30_days"]
    assert empty["received"] == 0 and empty["average_hours_to_close"] is None
    assert empty["satisfaction"] is None


def test_the_matters_list_shows_residents_matters_without_any_free_text(history):
    street = Region.objects.get(code=STREET)
    items = public.matters(street)["items"]
    # Residents' own matters (A B C G H); E was filed on patrol, F is in another street.
    assert [(m["category"], m["received"], m["state"], m["closed"], m["rating"])
            for m in items] == [
        ("暴露垃圾", "2026-03-10", "rejected", None, None),
        ("暴露垃圾", "2026-03-10", "closed", "2026-03-10", 5),
        ("暴露垃圾", "2026-03-09", "reported", None, None),
        ("暴露垃圾", "2026-03-04", "closed", "2026-03-04", 3),
        ("暴露垃圾", "2026-02-20", "reported", None, None)]
    assert {m["street"] for m in items} == {"解放路街道"}
    assert set(items[0]) == {"category", "street", "received", "state", "closed", "rating"}


def test_the_page_works_logged_out_and_publishes_nothing_personal(history, monkeypatch):
    monkeypatch.setattr(public, "PER_PAGE", 2)
    c = english_client()
    page = c.get("/public/", {"node": STREET})
    assert page.status_code == 200
    html = page.content.decode()
    assert "解放路街道" in html and "matters received" in html and "Last 30 days" in html
    assert "closed (已办结)" in html and "not accepted (不予受理)" in html
    assert 'data-testid="next"' in html and "vendor/echarts/echarts.min.js" in html
    for title in ("路灯不亮", "重复上报", "垃圾堆放", "小广告", "占道经营"):
        assert title not in html
    _assert_no_personal_data(html)
    last = c.get("/public/", {"node": STREET, "page": 3}).content.decode()
    assert "2026-02-20" in last and 'data-testid="next"' not in last
    default = c.get("/public/").content.decode()  # the top public node: the city
    assert "济南市" in default and "山东省 ·" not in default


def test_only_public_nodes_and_pages_are_served(history):
    c = english_client()
    for bad in ({"node": "370102001001"}, {"node": "37"}, {"node": "nope"},
                {"node": STREET, "page": "x"}, {"node": STREET, "page": "0"}):
        assert c.get("/public/", bad).status_code == 404, bad
    api = c.get("/api/v1/briefings/public", {"node": "370102001001"})
    assert api.status_code == 422 and "node" in api.json()["errors"]


def test_the_json_is_open_and_as_bare_as_the_page(history):
    body = english_client().get("/api/v1/briefings/public", {"node": STREET})
    assert body.status_code == 200
    data = body.json()
    assert data["node"]["code"] == STREET
    assert set(data["windows"]) == {"last_30_days", "this_year"}
    assert data["matters"]["items"][1]["state_label"] == "closed (已办结)"
    assert data["average_time_to_close"] == "calendar hours, receipt to closure"
    _assert_no_personal_data(json.dumps(data, ensure_ascii=False))
    assert "路灯不亮" not in json.dumps(data, ensure_ascii=False)


def test_the_figures_are_cached_for_a_few_minutes(history, flow, make_case):
    street = Region.objects.get(code=STREET)
    before = public.figures(street)["windows"]["this_year"]["received"]
    make_case(title="新的")
    assert public.figures(street)["windows"]["this_year"]["received"] == before
    cache.clear()
    assert public.figures(street)["windows"]["this_year"]["received"] == before + 1


def test_the_page_speaks_chinese_by_default(history):
    from django.test import Client

    page = Client().get("/public/", {"node": STREET})
    assert page.status_code == 200 and 'lang="zh-hans"' in page.content.decode()
