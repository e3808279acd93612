"""The one map in a real browser: a district leader drills from the district to a grid by
clicking the map, sees the grid's case points and opens a case from one; the map fits a
phone, and the heat and places layers switch on without a script error."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.cases.conftest import (  # noqa: F401 — fixtures shared with the case tests
    categories,
    departments,
    make_case,
    people,
)
from tests.factories import PASSWORD
from wangge.registry.models import Place, PlaceKind

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DISTRICT, STREET, WEST = "370102", "370102001", "370102001001"
GRID = f"{WEST}001"  # box (117.00, 36.60)-(117.02, 36.61)


def _drawn(page) -> list[str]:
    """Wait for map.js to draw every layer, then return the area codes it drew."""
    page.wait_for_selector("#map[data-state=ready]")
    return page.get_attribute("#map", "data-drawn-codes").split()


@pytest.fixture
def city(make_case, people, tree):  # noqa: F811
    """Two cases and a school in the west community's first grid; the district leader."""
    Place.objects.create(kind=PlaceKind.SCHOOL, name="解放路小学", lon=117.012, lat=36.602,
                         region=tree[GRID])
    return {"leader": people.command,
            "cases": [make_case(title="井盖松动", lon=117.005, lat=36.603),
                      make_case(title="垃圾满溢", lon=117.015, lat=36.607)]}


def test_a_district_leader_drills_to_a_grid_and_opens_a_case(city, open_page, live_server):
    page = open_page()
    sign_in(page, live_server, city["leader"].username, PASSWORD)
    page.goto(f"{live_server.url}/command/map/")
    # The district: only the street with a boundary is drawn; the other is not guessed at.
    assert _drawn(page) == [STREET]
    assert page.get_by_test_id("node-name").inner_text() == "历下区"
    assert "2" in page.get_by_test_id("points-note").inner_text()

    page.locator(f"path.area-{STREET}").click()
    page.wait_for_url(re.compile(rf"/command/map/{STREET}/$"))
    assert _drawn(page) == [WEST, "370102001002"]
    # Coloured by open cases: the west community holds both, the east none.
    assert page.locator(f"#map-features li[data-code='{WEST}'] .value").inner_text() == "2"
    assert page.locator("#map-features li[data-code='370102001002'] .value").inner_text() == "0"
    screenshot(page, "command-street")

    page.locator(f"path.area-{WEST}").click()
    page.wait_for_url(re.compile(rf"/command/map/{WEST}/$"))
    assert _drawn(page) == [GRID, f"{WEST}002"]
    page.locator(f"path.area-{GRID}").click()
    page.wait_for_url(re.compile(rf"/command/map/{GRID}/$"))
    assert _drawn(page) == [GRID]  # the grid itself, with its cases
    codes = [c.code for c in city["cases"]]
    assert sorted(page.get_attribute("#map", "data-case-codes").split()) == sorted(codes)
    for code in codes:
        assert page.locator(f"path.case-{code}").count() == 1
    assert page.get_by_test_id("grid-page").get_attribute("href") == f"/regions/{GRID}/detail/"
    # The way back up is the breadcrumb, linked within the leader's district.
    crumbs = page.get_by_test_id("breadcrumbs")
    assert crumbs.get_by_role("link").all_inner_texts() == ["历下区", "解放路街道", "西社区"]

    # Heat and places switch on and off from the layer control without an error.
    overlays = page.locator(".leaflet-control-layers-overlays input")
    assert overlays.count() == 4  # areas, cases, heat, places
    overlays.nth(2).check()
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 1
    assert page.locator(".place-school").count() == 1
    screenshot(page, "command-grid")

    page.locator(f"path.case-{codes[1]}").click()
    popup = page.locator(".leaflet-popup .case-popup")
    assert codes[1] in popup.inner_text() and "垃圾满溢" not in popup.inner_text()
    popup.locator("a.open-case").click()
    page.wait_for_url(re.compile(rf"/cases/{codes[1]}/$"))
    assert page.get_by_test_id("case-state").is_visible()


def test_the_map_fits_a_phone(city, open_page, live_server):
    page = open_page(375, 740)
    sign_in(page, live_server, city["leader"].username, PASSWORD)
    page.goto(f"{live_server.url}/command/map/{STREET}/")
    assert _drawn(page) == [WEST, "370102001002"]
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375, f"the map page is {width}px wide on a 375px phone"
    # The feature list drills down too (a thumb need not hit a small area).
    page.locator(f"#map-features li[data-code='{WEST}'] a").click()
    page.wait_for_url(re.compile(rf"/command/map/{WEST}/$"))
    assert _drawn(page) == [GRID, f"{WEST}002"]
    screenshot(page, "command-phone")
    page.goto(f"{live_server.url}/command/{STREET}/")
    page.wait_for_selector("#chart-trend[data-state=ready]")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375, f"the figures page is {width}px wide on a 375px phone"
    screenshot(page, "command-figures-phone")
