"""The region pages as a user meets them: browse, map, detail, search, language."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.factories import make_user
from wangge.accounts.roles import Role
from wangge.regions.models import Level, LevelName
from wangge.regions.services import create_region

pytestmark = pytest.mark.django_db

WEST = "370102001001"
EAST = "370102001002"
STREET = "370102001"


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _row_codes(html: str, testid: str) -> list[str]:
    """The data-code of every row in the table marked ``data-testid=testid``."""
    table = re.search(rf'data-testid="{testid}".*?</table>', html, re.S)
    assert table, f"no table {testid} on the page"
    return re.findall(r'<tr data-code="(\d+)"', table.group(0))


def _text(resp) -> str:
    return resp.content.decode()


def test_browse_starts_at_the_users_own_node_with_counts(tree, community_staff):
    resp = _client(community_staff).get("/regions/")
    html = _text(resp)
    assert resp.status_code == 200
    assert "<h1>西社区</h1>" in html
    assert _row_codes(html, "children") == [f"{WEST}001", f"{WEST}002"]
    assert re.search(r'data-testid="count-children">2<', html)
    assert re.search(r'data-testid="count-grids">2<', html)
    # 420 + 380 households in the two west grids; nothing from the east community.
    assert re.search(r'data-testid="count-households">800<', html)
    # The level name comes from LevelName, in Chinese by default.
    assert "社区(村)" in html


def test_breadcrumbs_above_the_users_node_are_plain_text(tree):
    street_staff = make_user("street_staff", Role.STAFF, tree[STREET])
    html = _text(_client(street_staff).get(f"/regions/{WEST}/"))
    crumbs = re.search(r'data-testid="breadcrumbs">(.*?)</nav>', html, re.S).group(1)
    # Within scope: a link back up to the street.
    assert f'href="/regions/{STREET}/"' in crumbs and "解放路街道" in crumbs
    # Above scope: named, never linked (opening them would be a 404).
    for name, code in (("山东省", "37"), ("济南市", "3701"), ("历下区", "370102")):
        assert name in crumbs
        assert f'href="/regions/{code}/"' not in crumbs


def test_unbound_admin_starts_at_the_top_of_the_tree(tree, admin_user):
    html = _text(_client(admin_user).get("/regions/"))
    assert _row_codes(html, "children") == ["37"]
    assert re.search(r'data-testid="count-grids">5<', html)
    assert '<a href="/regions/import/">导入网格</a>' in html  # only administrators import


def test_staff_have_no_import_link(tree, community_staff):
    assert "/regions/import/" not in _text(_client(community_staff).get("/regions/"))


def test_unbound_staff_is_told_why_nothing_shows(tree):
    floating = make_user("floating", Role.STAFF, None)
    resp = _client(floating).get("/regions/")
    assert resp.status_code == 200
    assert 'role="alert"' in _text(resp)
    assert 'data-testid="children"' not in _text(resp)


@pytest.mark.parametrize("url", [
    "/regions/{code}/", "/regions/map/{code}/", "/regions/{code}/detail/",
])
@pytest.mark.parametrize("code", [
    f"{EAST}001",  # a grid in the neighbouring community
    EAST,  # the neighbouring community
    STREET,  # the user's own parent
    "370102002001001",  # a grid in another street
    "999999999999999",  # no such node
])
def test_out_of_scope_and_missing_codes_are_the_same_404(tree, community_staff, url, code):
    assert _client(community_staff).get(url.format(code=code)).status_code == 404


@pytest.mark.parametrize("url", [
    "/regions/", f"/regions/{WEST}001/", "/regions/map/", f"/regions/map/{WEST}/",
    f"/regions/{WEST}001/detail/",
])
def test_resident_may_not_open_region_pages(tree, url):
    resident = make_user("resident1", Role.RESIDENT, tree[f"{WEST}001"])
    assert _client(resident).get(url).status_code == 403


def test_anonymous_is_sent_to_sign_in(tree):
    resp = Client().get("/regions/map/")
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")


def test_search_by_name_stays_in_scope(tree, community_staff):
    html = _text(_client(community_staff).get("/regions/", {"q": "社区"}))
    # "社区" is in every community and grid name; only the west ones are the user's.
    assert sorted(_row_codes(html, "search-results")) == [WEST, f"{WEST}001", f"{WEST}002"]
    assert "东社区" not in html and "南社区" not in html


def test_search_by_code_prefix_finds_nothing_outside_scope(tree, community_staff):
    c = _client(community_staff)
    assert _row_codes(_text(c.get("/regions/", {"q": EAST})), "search-results") == []
    assert _row_codes(_text(c.get("/regions/", {"q": f"{WEST}00"})), "search-results") == [
        f"{WEST}001", f"{WEST}002"]


def test_search_from_a_node_looks_below_that_node(tree, admin_user):
    html = _text(_client(admin_user).get(f"/regions/{EAST}/", {"q": "网格"}))
    assert sorted(_row_codes(html, "search-results")) == [f"{EAST}001", f"{EAST}002"]


def test_long_child_lists_are_paginated(tree, admin_user):
    community = tree[WEST]
    for i in range(3, 63):
        create_region(code=f"{WEST}{i:03d}", name=f"网格{i}", level=Level.GRID,
                      parent=community, attributes={"households": 10}, audit=False)
    c = _client(admin_user)
    first = _row_codes(_text(c.get(f"/regions/{WEST}/")), "children")
    second = _text(c.get(f"/regions/{WEST}/", {"page": 2}))
    assert len(first) == 50
    assert len(_row_codes(second, "children")) == 12
    assert not set(first) & set(_row_codes(second, "children"))
    assert 'rel="prev"' in second


def test_households_that_are_not_whole_numbers_are_left_out_not_fatal(tree, admin_user):
    create_region(code=f"{WEST}003", name="西社区第三网格", level=Level.GRID, parent=tree[WEST],
                  attributes={"households": "about 300"}, audit=False)
    html = _text(_client(admin_user).get(f"/regions/{WEST}/"))
    assert re.search(r'data-testid="count-grids">3<', html)
    assert re.search(r'data-testid="count-households">800 <small', html)
    assert "3 个网格中 2 个有记录" in html


def test_map_page_lists_children_without_boundary_and_loads_the_api(tree):
    county_staff = make_user("county_staff", Role.STAFF, tree["370102"])
    resp = _client(county_staff).get("/regions/map/")
    html = _text(resp)
    assert resp.status_code == 200
    assert 'id="map"' in html
    # The street without a boundary is named beside the map, not silently dropped.
    missing = re.search(r'data-testid="without-boundary".*?</details>', html, re.S).group(0)
    assert "千佛山街道" in missing and "解放路街道" not in missing
    assert "/api/v1/regions/370102/children.geojson" in html
    assert "/static/vendor/leaflet/leaflet.js" in html and "/static/regions/map.js" in html
    assert "http://" not in html and "https://" not in html  # nothing from outside


def test_map_of_a_node_with_no_boundaries_below_says_so(tree):
    county_staff = make_user("county_staff", Role.STAFF, tree["370102"])
    html = _text(_client(county_staff).get("/regions/map/370102002/"))
    assert 'data-testid="map-empty"' in html
    assert 'id="map"' not in html


def test_configured_tile_server_reaches_the_map(tree, community_staff, settings):
    settings.MAP_TILE_URL = "/tiles/{z}/{x}/{y}.png"
    html = _text(_client(community_staff).get("/regions/map/"))
    assert 'data-tile-url="/tiles/{z}/{x}/{y}.png"' in html


def test_map_of_a_grid_is_its_detail_page(tree, community_staff):
    resp = _client(community_staff).get(f"/regions/map/{WEST}001/")
    assert resp.status_code == 302 and resp["Location"] == f"/regions/{WEST}001/detail/"


def test_grid_detail_shows_type_households_and_its_own_workers(tree, community_staff):
    grid = tree[f"{WEST}001"]
    worker = make_user("worker_a", Role.GRID_WORKER, grid)
    worker.display_name = "王网格员"
    worker.save()
    make_user("worker_b", Role.GRID_WORKER, tree[f"{WEST}002"])  # another grid
    make_user("staff_here", Role.STAFF, grid)  # bound here but not a grid worker
    html = _text(_client(community_staff).get(f"/regions/{WEST}001/detail/"))
    assert "西社区第一网格" in html
    assert re.search(r'data-testid="households">420<', html)
    assert re.search(r'data-testid="grid-type">住宅<', html)
    workers = re.search(r'data-testid="grid-workers">(.*?)</ul>', html, re.S).group(1)
    assert "王网格员" in workers
    assert "worker_b" not in workers and "staff_here" not in workers
    assert f'href="/regions/map/{WEST}/"' in html  # the parent's map, within scope
    assert f"/api/v1/regions/{WEST}001/geojson" in html


def test_grid_worker_sees_their_grid_but_no_link_above_it(tree):
    worker = make_user("worker_a", Role.GRID_WORKER, tree[f"{WEST}001"])
    c = _client(worker)
    html = _text(c.get(f"/regions/{WEST}001/detail/"))
    assert 'data-testid="parent-map"' not in html
    assert c.get(f"/regions/map/{WEST}/").status_code == 404


def test_detail_of_a_node_without_boundary_says_so(tree, admin_user):
    html = _text(_client(admin_user).get("/regions/370102002/detail/"))
    assert 'data-testid="no-boundary"' in html
    assert 'id="map"' not in html


def test_pages_are_in_chinese_by_default_and_english_after_switching(tree, community_staff):
    c = _client(community_staff)
    zh = _text(c.get("/regions/"))
    assert '<html lang="zh-hans">' in zh
    assert "下级区划" in zh and "户数" in zh and "Households" not in zh
    resp = c.post("/i18n/setlang/", {"language": "en", "next": "/regions/"})
    assert resp.status_code == 302
    en = _text(c.get("/regions/"))
    assert '<html lang="en">' in en
    assert "Households" in en and "户数" not in en
    assert "community / village" in en  # the level name follows the language too


def test_level_names_come_from_the_deployments_table(tree, community_staff):
    LevelName.objects.filter(level=Level.COMMUNITY).update(
        name_zh="居委会", name_en="neighbourhood")
    c = _client(community_staff)
    assert "居委会" in _text(c.get("/regions/"))
    c.post("/i18n/setlang/", {"language": "en", "next": "/regions/"})
    assert "neighbourhood" in _text(c.get("/regions/"))


def test_unbound_admin_map_starts_at_the_top(tree, admin_user):
    c = _client(admin_user)
    html = _text(c.get("/regions/map/"))
    # The province has no boundary of its own: the page says so instead of a blank map.
    assert 'data-testid="map-empty"' in html and "山东省" in html
    street = _text(c.get(f"/regions/map/{STREET}/"))
    assert 'id="map"' in street and f"/api/v1/regions/{STREET}/children.geojson" in street
    assert f"/api/v1/regions/{STREET}/geojson" in street  # its own outline as a frame


@pytest.mark.django_db
def test_chinese_even_when_the_browser_asks_for_english(tree, community_staff):
    c = Client()
    c.force_login(community_staff)
    page = c.get("/regions/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "退出登录" in page and "Sign out" not in page


@pytest.mark.django_db
def test_grid_worker_sees_own_grid_households(tree):
    worker = make_user("gw1", Role.GRID_WORKER, tree["370102001001001"])
    c = Client()
    c.force_login(worker)
    assert c.get("/").status_code == 302  # to their cases
    page = c.get("/regions/370102001001001/").content.decode()
    assert "420" in page
