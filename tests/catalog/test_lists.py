"""Lists sent down to grids (数据下沉): 民政局's 独居老人名单 reaches each grid worker with his
grid's rows only, community staff with their community's, not other departments' handlers;
masked on the page, in the API and in the CSV; every read and export logged."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from tests.registry_factories import ID_A, ID_B, ID_C, add_record
from wangge.accounts.models import ApiToken
from wangge.audit.models import AuditRecord
from wangge.catalog import lists, service
from wangge.catalog.models import AccessLog

pytestmark = pytest.mark.django_db

WEST_1, WEST_2, EAST_1 = "370102001001001", "370102001001002", "370102001002001"
CLEAR = (ID_A, ID_B, ID_C, "13912345678", "王秀英", "李建国", "张国强", "赵敏")


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def sent_down(tree, elderly_list):
    """Two rows in the west community's first grid, one in its second, one in the east
    community."""
    add_record(elderly_list, "e1", {"name": "王秀英", "id_number": ID_B,
                                    "phone": "13912345678"}, region=tree[WEST_1])
    add_record(elderly_list, "e2", {"name": "李建国", "id_number": ID_C}, region=tree[WEST_1])
    add_record(elderly_list, "e3", {"name": "张国强", "id_number": ID_A}, region=tree[WEST_2])
    add_record(elderly_list, "e4", {"name": "赵敏"}, region=tree[EAST_1])
    return elderly_list


def client(user) -> Client:
    c = Client()
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    c.force_login(user)
    return c


def token_client(user, scopes: list[str]) -> tuple[Client, str]:
    secret, prefix, digest = ApiToken.new_secret()
    ApiToken.objects.create(user=user, name="phone app", prefix=prefix, digest=digest,
                            scopes=scopes)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}"), prefix


def keys(html: str) -> list[str]:
    """The rows the wide table shows (the phone cards repeat them)."""
    table = re.search(r'data-testid="rows".*?</table>', html, re.S).group(0)
    return re.findall(r'<tr data-key="([^"]+)"', table)


def card_keys(html: str) -> list[str]:
    cards = re.search(r'data-testid="row-cards".*?</ul>', html, re.S).group(0)
    return re.findall(r'<li class="card" data-key="([^"]+)"', cards)


def no_clear_values(text: str) -> None:
    for value in CLEAR:
        assert value not in text, f"{value} shown in clear"


def test_each_grid_worker_sees_exactly_his_grid(grid_worker, other_grid_worker, sent_down):
    url = f"/catalog/lists/{sent_down.code}/"
    mine = client(grid_worker).get(url).content.decode()
    assert keys(mine) == ["e1", "e2"] and card_keys(mine) == ["e1", "e2"]
    assert "西社区第一网格" in mine and "王*英" in mine and "139****5678" in mine
    no_clear_values(mine)
    theirs = client(other_grid_worker).get(url).content.decode()
    assert keys(theirs) == ["e3"]
    # The index counts the rows of his area only.
    assert [(s.dataset.code, s.rows) for s in lists.lists_for(grid_worker)] == [
        (sent_down.code, 2)]
    index = client(other_grid_worker).get("/catalog/lists/").content.decode()
    assert "1 row in your area" in index


def test_community_staff_see_both_grids_and_filter_by_grid(community_staff,
                                                           other_community_staff, sent_down):
    c = client(community_staff)
    url = f"/catalog/lists/{sent_down.code}/"
    assert keys(c.get(url).content.decode()) == ["e1", "e2", "e3"]
    assert keys(c.get(url, {"grid": WEST_2}).content.decode()) == ["e3"]
    assert keys(client(other_community_staff).get(url).content.decode()) == ["e4"]
    # A grid outside her area is a named error, not someone else's rows.
    resp = c.get(url, {"grid": EAST_1})
    assert resp.status_code == 422 and "No grid with code" in resp.content.decode()
    # The grid filter offers her grids with rows.
    html = c.get(url).content.decode()
    assert f'<option value="{WEST_1}"' in html and f'<option value="{EAST_1}"' not in html


def test_other_departments_handlers_do_not_see_the_list(police_handler, police_steward,
                                                        handler, sent_down):
    for user in (police_handler, police_steward):
        assert lists.lists_for(user) == []
        c = client(user)
        assert 'data-testid="empty"' in c.get("/catalog/lists/").content.decode()
        assert c.get(f"/catalog/lists/{sent_down.code}/").status_code == 404
        assert c.get(f"/catalog/lists/{sent_down.code}/export.csv").status_code == 404
    # The owning department's handler reaches his own list (all of the district).
    assert [s.rows for s in lists.lists_for(handler)] == [4]
    assert not AccessLog.objects.filter(user__in=[police_handler, police_steward]).exists()


def test_an_unpublished_dataset_is_no_list(police_steward, grid_worker, hukou, tree):
    add_record(hukou, "h1", {"name": "王秀英", "id_number": ID_B}, region=tree[WEST_1])
    assert client(grid_worker).get(f"/catalog/lists/{hukou.code}/").status_code == 404
    assert client(police_steward).get(f"/catalog/lists/{hukou.code}/").status_code == 404


def test_views_and_exports_are_logged(grid_worker, sent_down):
    c = client(grid_worker)
    c.get(f"/catalog/lists/{sent_down.code}/")
    resp = c.get(f"/catalog/lists/{sent_down.code}/export.csv")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/csv")
    text = resp.content.decode("utf-8-sig")
    no_clear_values(text)
    lines = list(csv.reader(io.StringIO(text)))
    assert [line[2] for line in lines[1:]] == ["e1", "e2"]
    assert lines[1][0] == "西社区第一网格" and "王*英" in lines[1]
    logs = list(AccessLog.objects.order_by("pk").values_list("channel", "rows", "user__username",
                                                              "grant"))
    assert logs == [("page", 2, "gw_west1", None), ("export", 2, "gw_west1", None)]
    assert AuditRecord.objects.filter(action="catalog.export", actor="gw_west1").count() == 1


def test_the_api_needs_the_lists_scope(community_staff, sent_down):
    wrong, _p = token_client(community_staff, ["catalog:read"])
    assert wrong.get(f"/api/v1/catalog/lists/{sent_down.code}").status_code == 403
    assert wrong.get("/api/v1/catalog/lists").status_code == 403
    api, prefix = token_client(community_staff, ["catalog:lists"])
    index = api.get("/api/v1/catalog/lists").json()
    assert [(i["code"], i["rows"], i["tag"]) for i in index] == [(sent_down.code, 3, "独居老人")]
    resp = api.get(f"/api/v1/catalog/lists/{sent_down.code}", {"page_size": 2})
    body = resp.json()
    assert resp.status_code == 200
    assert (body["total"], body["pages"], body["basis"]) == (3, 2, service.Basis.SENT_DOWN)
    assert [i["key"] for i in body["items"]] == ["e1", "e2"]
    assert body["items"][0]["grid"] == "西社区第一网格"
    no_clear_values(resp.content.decode())
    page2 = api.get(f"/api/v1/catalog/lists/{sent_down.code}",
                    {"page": 2, "page_size": 2, "grid": WEST_2}).json()
    # One grid's rows; a page past the end shows the last one.
    assert [i["key"] for i in page2["items"]] == ["e3"] and page2["page"] == 1
    assert list(AccessLog.objects.order_by("pk").values_list(
        "channel", "token_prefix", "rows")) == [("api", prefix, 2), ("api", prefix, 1)]
    assert api.get("/api/v1/catalog/lists/nope").status_code == 404
    assert Client().get(f"/api/v1/catalog/lists/{sent_down.code}").status_code == 401


def test_a_grid_worker_cannot_read_rows_outside_the_lists(grid_worker, sent_down):
    """Grid workers reach lists, not the catalogue's shared rows (no catalog.read)."""
    c = client(grid_worker)
    assert c.get(f"/catalog/datasets/{sent_down.code}/records/").status_code == 403
    assert not AccessLog.objects.exists()


def test_the_dataset_page_leads_a_grid_worker_to_his_list(grid_worker, sent_down):
    html = client(grid_worker).get(f"/catalog/datasets/{sent_down.code}/").content.decode()
    assert 'data-status="sent_down"' in html and 'data-testid="open-list"' in html
    assert re.search(r'data-testid="rows-visible">2<', html)
    assert 'data-testid="request-access"' not in html and 'data-testid="read-rows"' not in html
