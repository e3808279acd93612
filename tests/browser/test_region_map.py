"""The region map in a real browser: a community's staff sees exactly their own grids."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.factories import PASSWORD, make_user
from wangge.accounts.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WEST = "370102001001"
WEST_GRIDS = [f"{WEST}001", f"{WEST}002"]


def _open_map(page) -> list[str]:
    """Wait for map.js to draw, then return the codes it drew."""
    page.wait_for_selector("#map[data-state=ready]")
    return page.get_attribute("#map", "data-drawn-codes").split()


def test_community_staff_sees_their_grids_and_drills_into_one(tree, open_page, live_server):
    make_user("west_staff", Role.STAFF, tree[WEST])
    worker = make_user("wang", Role.GRID_WORKER, tree[WEST_GRIDS[0]])
    worker.display_name = "王小梅"
    worker.save()
    page = open_page()
    sign_in(page, live_server, "west_staff", PASSWORD)

    page.get_by_role("banner").get_by_role("link", name="地图").click()
    assert _open_map(page) == WEST_GRIDS
    # What is drawn is what is listed, and nothing from the community next door.
    assert page.locator("#map-features li").evaluate_all(
        "items => items.map(li => li.dataset.code)") == WEST_GRIDS
    assert page.locator(".leaflet-overlay-pane path.area").count() == 2
    for code in WEST_GRIDS:
        assert page.locator(f"path.area-{code}").count() == 1
    assert page.locator("text=东社区").count() == 0
    legend = page.locator(".leaflet-control-container .legend").inner_text()
    assert "网格类型" in legend and "住宅" in legend
    screenshot(page, "map")

    page.locator(f"path.area-{WEST_GRIDS[0]}").click()
    page.wait_for_url(re.compile(rf"/regions/{WEST_GRIDS[0]}/detail/$"))
    assert page.get_by_test_id("detail-name").inner_text() == "西社区第一网格"
    assert page.get_by_test_id("households").inner_text() == "420"
    assert "王小梅" in page.get_by_test_id("grid-workers").inner_text()
    assert _open_map(page) == [WEST_GRIDS[0]]
    screenshot(page, "detail")


def test_street_staff_drills_from_communities_to_grids(tree, open_page, live_server):
    make_user("street_staff", Role.STAFF, tree["370102001"])
    page = open_page()
    sign_in(page, live_server, "street_staff", PASSWORD)
    page.goto(f"{live_server.url}/regions/map/")
    assert _open_map(page) == [WEST, "370102001002"]
    # Communities are coloured by the grids below them; the list says how many.
    west_item = page.locator(f"#map-features li[data-code='{WEST}']")
    assert west_item.inner_text().endswith("网格 2 个")
    assert page.locator(".legend").inner_text().startswith("所辖网格")
    page.select_option("#map-metric", "households")
    assert west_item.inner_text().endswith("800 户")
    assert page.locator(".legend").inner_text().startswith("户数")
    screenshot(page, "street-map")
    page.locator(f"path.area-{WEST}").click()
    page.wait_for_url(re.compile(rf"/regions/map/{WEST}/$"))
    assert _open_map(page) == WEST_GRIDS
    # Back up through the breadcrumb, which links only within the user's scope.
    crumbs = page.get_by_test_id("breadcrumbs")
    assert crumbs.get_by_role("link").all_inner_texts() == ["解放路街道"]
    crumbs.get_by_role("link", name="解放路街道").click()
    assert _open_map(page) == [WEST, "370102001002"]


def test_map_page_fits_a_phone(tree, open_page, live_server):
    make_user("west_staff", Role.STAFF, tree[WEST])
    page = open_page(375, 740)
    sign_in(page, live_server, "west_staff", PASSWORD)
    page.goto(f"{live_server.url}/regions/map/")
    assert _open_map(page) == WEST_GRIDS
    widths = page.evaluate(
        "() => ({doc: document.documentElement.scrollWidth, body: document.body.scrollWidth,"
        " view: window.innerWidth})")
    assert widths["view"] == 375
    assert widths["doc"] <= widths["view"] and widths["body"] <= widths["view"], widths
    box = page.locator("#map").bounding_box()
    assert box["width"] > 300 and box["x"] >= 0 and box["x"] + box["width"] <= 375
    assert box["height"] >= 300
    screenshot(page, "map-phone")
    # A tap on a grid opens it, just as a click does.
    page.locator(f"path.area-{WEST_GRIDS[1]}").click()
    page.wait_for_url(re.compile(rf"/regions/{WEST_GRIDS[1]}/detail/$"))
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    # The list view too: a wide table scrolls inside its own box, the page does not.
    page.goto(f"{live_server.url}/regions/")
    assert page.get_by_test_id("children").locator("tbody tr").count() == 2
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    screenshot(page, "browse-phone")
