"""The GeoJSON import page (upload → preview → commit) and the import API, as users meet them.

The ``tree`` fixture: street 370102002 has no polygon and one community, 370102002001. The
files here add a new community 370102002002 under it with two grids side by side.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.factories import box, collection, feature, make_user
from wangge.accounts.roles import TOKEN_SCOPES, Role
from wangge.accounts.services import issue_token
from wangge.audit.models import AuditRecord
from wangge.core.staged import PENDING_SUFFIX
from wangge.regions import import_api, import_views
from wangge.regions.models import Level, Region
from wangge.regions.services import create_region

pytestmark = pytest.mark.django_db

PAGE = "/regions/import/"
API = "/api/v1/regions-import/"
STREET = "370102002"
COMMUNITY = "370102002002"
WEST_GRID, EAST_GRID = f"{COMMUNITY}001", f"{COMMUNITY}002"


def good_file() -> dict:
    return collection(
        feature(COMMUNITY, STREET, "community", box(117.20, 36.60, 117.22, 36.62), name="新社区"),
        feature(WEST_GRID, COMMUNITY, "grid", box(117.20, 36.60, 117.21, 36.62), households=120),
        feature(EAST_GRID, COMMUNITY, 6, box(117.21, 36.60, 117.22, 36.62)),
    )


def bad_file() -> dict:
    """Feature 0 is fine; 1 names a parent nobody has heard of; 2 has a point, not a polygon."""
    return collection(
        feature(COMMUNITY, STREET, "community", box(117.20, 36.60, 117.22, 36.62)),
        feature("370102009001001", "370102009001", "grid", box(117.20, 36.60, 117.21, 36.62)),
        feature(EAST_GRID, COMMUNITY, "grid", {"type": "Point", "coordinates": [117.2, 36.6]}),
    )


def upload(data, name: str = "grids.geojson") -> SimpleUploadedFile:
    content = data if isinstance(data, bytes) else json.dumps(data).encode()
    return SimpleUploadedFile(name, content, content_type="application/geo+json")


def client_for(user=None) -> Client:
    # English, so the assertions read the msgids whatever translations exist.
    c = Client()
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    if user is not None:
        c.force_login(user)
    return c


def preview(c: Client, data, name: str = "grids.geojson"):
    return c.post(PAGE, {"action": "preview", "file": upload(data, name)})


def token_of(resp) -> str:
    found = re.search(r'name="token" value="([0-9a-f]+)"', resp.content.decode())
    assert found, "no commit button on the page"
    return found.group(1)


def commit(c: Client, token: str):
    return c.post(PAGE, {"action": "commit", "token": token})


def text(resp) -> str:
    return resp.content.decode()


def error_table(resp) -> list[tuple[str, str, str]]:
    """(feature index, code, message) of every row in the problems table."""
    table = re.search(r'data-testid="import-errors".*?</table>', text(resp), re.S)
    assert table, "no problems table on the page"
    rows = re.findall(r'<tr data-feature="(\d*)">\s*<td class="num">(.*?)</td>\s*'
                      r'<td class="code">(.*?)</td>\s*<td[^>]*>(.*?)</td>', table.group(0), re.S)
    return [(index, code, message) for index, _cell, code, message in rows]


def count(resp, which: str) -> int:
    return int(re.search(rf'data-testid="count-{which}">(\d+)<', text(resp)).group(1))


def imports() -> int:
    return AuditRecord.objects.filter(action="regions.import_geojson").count()


def new_codes() -> list[str]:
    return sorted(Region.objects.filter(code__startswith=COMMUNITY).values_list("code",
                                                                                flat=True))


def waiting_uploads(tmp: Path) -> list[str]:
    folder = tmp / "uploads" / "regions"
    return sorted(p.name for p in folder.glob("*/*")) if folder.exists() else []


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def admin(admin_user) -> Client:
    return client_for(admin_user)


# --- the page: preview ------------------------------------------------------------------------

def test_the_page_has_an_upload_form_for_administrators(tree, admin):
    resp = admin.get(reverse("regions:import"))
    assert resp.status_code == 200
    assert 'data-testid="upload-form"' in text(resp)
    assert 'enctype="multipart/form-data"' in text(resp)
    assert 'data-testid="commit-form"' not in text(resp)


def test_preview_lists_every_problem_by_feature_and_writes_nothing(tree, admin, var_dir):
    before = Region.objects.count()

    resp = preview(admin, bad_file())

    assert resp.status_code == 200
    rows = error_table(resp)
    assert [(index, code) for index, code, _ in rows] == [
        ("1", "370102009001001"), ("2", EAST_GRID)]
    assert "unknown parent 370102009001" in rows[0][2]
    assert "Point" in rows[1][2] and "not Polygon" in rows[1][2]
    assert "2 problems found" in text(resp)
    assert 'data-testid="commit-form"' not in text(resp)
    assert Region.objects.count() == before and imports() == 0
    assert waiting_uploads(var_dir) == []


def test_valid_file_previews_counts_then_commit_writes_it_once(tree, admin, admin_user,
                                                               var_dir):
    resp = preview(admin, good_file(), name="新社区网格.geojson")

    assert resp.status_code == 200
    assert (count(resp, "created"), count(resp, "updated"), count(resp, "unchanged")) == (3, 0, 0)
    assert "nothing has been written yet" in text(resp)
    assert new_codes() == [] and imports() == 0
    token = token_of(resp)
    assert len(waiting_uploads(var_dir)) == 1

    done = commit(admin, token)

    assert done.status_code == 200
    assert 'data-testid="import-done"' in text(done)
    assert (count(done, "created"), count(done, "updated")) == (3, 0)
    assert new_codes() == [COMMUNITY, WEST_GRID, EAST_GRID]
    grid = Region.objects.get(code=WEST_GRID)
    assert grid.level == Level.GRID and grid.parent.code == COMMUNITY
    assert grid.attributes == {"households": 120}
    audit = AuditRecord.objects.get(action="regions.import_geojson")
    assert audit.actor_id == admin_user.pk
    detail = json.loads(audit.detail)
    assert detail["created"] == 3
    assert "新社区网格.geojson" in detail["origin"] and "sha256:" in detail["origin"]
    # The waiting copy is gone; only the small "done" note for a late second commit remains.
    assert not [n for n in waiting_uploads(var_dir) if n.endswith(PENDING_SUFFIX)]
    assert [n for n in waiting_uploads(var_dir) if n.endswith(".done.json")]


def test_resubmitted_commit_does_not_import_twice_and_says_so(tree, admin):
    token = token_of(preview(admin, good_file()))
    commit(admin, token)
    regions, audits = Region.objects.count(), imports()

    again = commit(admin, token)

    assert again.status_code == 200
    assert 'data-testid="import-already"' in text(again)
    assert "already committed" in text(again)
    assert count(again, "created") == 3  # the first commit's result, shown again
    assert Region.objects.count() == regions and imports() == audits == 1


def test_a_simultaneous_second_commit_from_a_stale_session_is_refused(tree, admin):
    """Two requests of one double click both read the session before either saved it."""
    from wangge.regions.import_views import STAGING

    SESSION_KEY = STAGING.session_key
    token = token_of(preview(admin, good_file()))
    stale = json.loads(json.dumps(admin.session[SESSION_KEY]))
    commit(admin, token)
    session = admin.session
    session[SESSION_KEY] = stale  # as the second request saw it: still pending
    session.save()

    again = commit(admin, token)

    assert 'data-testid="import-already"' in text(again)
    assert count(again, "created") == 3
    assert imports() == 1 and len(new_codes()) == 3


def test_commit_refuses_a_token_that_is_not_this_sessions_preview(tree, admin, var_dir):
    token_of(preview(admin, good_file()))
    for forged in ("0" * 32, "../../secret_key", ""):
        resp = commit(admin, forged)
        assert resp.status_code == 400
        assert "no longer available" in text(resp)
    assert new_codes() == [] and imports() == 0


def test_another_session_cannot_commit_my_preview(tree, admin):
    token = token_of(preview(admin, good_file()))
    other_admin = make_user("second_admin", Role.ADMIN, None)
    resp = commit(client_for(other_admin), token)
    assert resp.status_code == 400 and new_codes() == []


def test_a_newer_upload_replaces_the_waiting_one(tree, admin, var_dir):
    first = token_of(preview(admin, good_file()))
    second = token_of(preview(admin, good_file()))
    assert len(waiting_uploads(var_dir)) == 1

    assert commit(admin, first).status_code == 400
    assert new_codes() == []
    assert commit(admin, second).status_code == 200
    assert len(new_codes()) == 3


def test_a_stored_upload_changed_after_the_preview_is_not_imported(tree, admin, var_dir):
    token = token_of(preview(admin, good_file()))
    [stored] = (var_dir / "uploads" / "regions").glob(f"*/*{PENDING_SUFFIX}")
    altered = good_file()
    altered["features"][0]["properties"]["name"] = "改过的名字"
    stored.write_text(json.dumps(altered))

    resp = commit(admin, token)

    assert resp.status_code == 400
    assert "no longer matches what was previewed" in text(resp)
    assert new_codes() == [] and imports() == 0
    assert waiting_uploads(var_dir) == []


def test_commit_is_refused_when_the_tree_changed_since_the_preview(tree, admin):
    token = token_of(preview(admin, good_file()))
    # Meanwhile someone records the west grid's code as a community.
    create_region(code=WEST_GRID, name="抢先", level=Level.COMMUNITY, parent=tree[STREET],
                  audit=False)

    resp = commit(admin, token)

    assert resp.status_code == 409
    assert 'data-testid="import-refused"' in text(resp)
    assert "Nothing was written" in text(resp)
    assert [(i, c) for i, c, _ in error_table(resp)] == [("1", WEST_GRID)]
    assert new_codes() == [WEST_GRID] and imports() == 0
    # Spent: committing it again is not possible, and says so.
    assert commit(admin, token).status_code == 400


def test_reimporting_an_unchanged_file_offers_nothing_to_commit(tree, admin):
    commit(admin, token_of(preview(admin, good_file())))

    resp = preview(admin, good_file())

    assert count(resp, "unchanged") == 3 and count(resp, "created") == 0
    assert 'data-testid="nothing-to-import"' in text(resp)
    assert 'data-testid="commit-form"' not in text(resp)


def test_stale_waiting_uploads_are_swept(tree, admin, var_dir):
    token_of(preview(admin, good_file()))
    assert import_views.remove_stale_uploads(max_age_seconds=-1) == 1
    assert waiting_uploads(var_dir) == []


# --- the page: files that can't be read -------------------------------------------------------

@pytest.mark.parametrize(("content", "name", "says"), [
    (b'{"type": "FeatureCollection", "features": [', "grids.geojson",
     "The file is not valid JSON"),
    (b"\xff\xfe{}", "grids.json", "not UTF-8"),
    (b"   ", "grids.geojson", "The file is empty"),
    (json.dumps(feature(COMMUNITY, STREET, 5, None)).encode(), "one.geojson",
     "not a GeoJSON FeatureCollection (its type is &quot;Feature&quot;)"),
    (b"[1, 2]", "list.json", "not a GeoJSON FeatureCollection (its type is &quot;list&quot;)"),
    (b"{}", "grids.shp", "is not a .geojson or .json file"),
])
def test_unreadable_uploads_get_a_clear_error(tree, admin, var_dir, content, name, says):
    resp = admin.post(PAGE, {"action": "preview",
                             "file": SimpleUploadedFile(name, content)})
    assert resp.status_code == 400
    error = re.search(r'data-testid="upload-error">(.*?)</p>', text(resp), re.S)
    assert error and says in error.group(1), text(resp)
    assert 'data-testid="commit-form"' not in text(resp)
    assert waiting_uploads(var_dir) == [] and imports() == 0


def test_malformed_json_error_names_the_line(tree, admin):
    resp = preview(admin, b'{\n  "type": "FeatureCollection",\n  "features": [,]\n}')
    assert "line 3" in text(resp)


def test_no_file_chosen(tree, admin):
    resp = admin.post(PAGE, {"action": "preview"})
    assert resp.status_code == 400 and "Choose a GeoJSON file" in text(resp)


def test_files_over_the_size_limit_are_refused(tree, admin, monkeypatch):
    content = json.dumps(good_file()).encode()
    monkeypatch.setattr(import_views, "MAX_UPLOAD_BYTES", len(content) - 1)
    resp = preview(admin, content)
    assert resp.status_code == 400
    assert "the largest file that can be imported is" in text(resp)
    assert new_codes() == []


# --- the page: who may use it -----------------------------------------------------------------

def test_non_administrators_are_forbidden(tree, community_staff):
    c = client_for(community_staff)
    assert c.get(PAGE).status_code == 403
    assert c.post(PAGE, {"action": "preview", "file": upload(good_file())}).status_code == 403
    assert new_codes() == []


def test_anonymous_visitors_are_sent_to_sign_in(tree):
    resp = client_for().get(PAGE)
    assert resp.status_code == 302
    assert resp["Location"].startswith(reverse("accounts:login"))
    assert "next=/regions/import/" in resp["Location"]


# --- the API ----------------------------------------------------------------------------------

def post_api(c: Client, data, **query):
    body = data if isinstance(data, bytes) else json.dumps(data)
    url = API + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    return c.post(url, body, content_type="application/geo+json")


def test_api_imports_a_valid_collection(tree, admin, admin_user):
    resp = post_api(admin, good_file())

    assert resp.status_code == 200
    body = resp.json()
    assert (body["ok"], body["written"], body["dry_run"]) == (True, True, False)
    assert (body["total"], body["created"], body["updated"], body["unchanged"]) == (3, 3, 0, 0)
    assert sorted(body["created_codes"]) == [COMMUNITY, WEST_GRID, EAST_GRID]
    assert body["errors"] == []
    assert new_codes() == [COMMUNITY, WEST_GRID, EAST_GRID]
    assert AuditRecord.objects.get(action="regions.import_geojson").actor_id == admin_user.pk

    again = post_api(admin, good_file()).json()
    assert (again["created"], again["unchanged"], again["written"]) == (0, 3, False)
    assert imports() == 1


def test_api_refuses_a_bad_collection_with_the_report_and_writes_nothing(tree, admin):
    before = Region.objects.count()

    resp = post_api(admin, bad_file())

    assert resp.status_code == 422
    body = resp.json()
    assert (body["ok"], body["written"]) == (False, False)
    assert [(e["feature"], e["code"]) for e in body["errors"]] == [
        (1, "370102009001001"), (2, EAST_GRID)]
    assert "unknown parent" in body["errors"][0]["message"]
    assert Region.objects.count() == before and imports() == 0


@pytest.mark.parametrize("body", [b"not json", b'{"type": "Feature"}', b""])
def test_api_answers_an_unusable_body_with_a_file_level_problem(tree, admin, body):
    resp = post_api(admin, body)
    assert resp.status_code == 422
    [problem] = resp.json()["errors"]
    assert problem["feature"] is None and problem["where"] == "file"


def test_api_dry_run_counts_and_writes_nothing(tree, admin):
    resp = post_api(admin, good_file(), dry_run="true")

    assert resp.status_code == 200
    body = resp.json()
    assert (body["dry_run"], body["written"], body["created"]) == (True, False, 3)
    assert new_codes() == [] and imports() == 0
    assert post_api(admin, bad_file(), dry_run="true").status_code == 422


def test_api_refuses_bodies_over_the_limit(tree, admin, monkeypatch):
    content = json.dumps(good_file()).encode()
    monkeypatch.setattr(import_api, "MAX_UPLOAD_BYTES", len(content) - 1)
    resp = post_api(admin, content)
    assert resp.status_code == 413 and "split" in resp.json()["detail"]
    assert new_codes() == []


def test_api_takes_bodies_past_djangos_form_body_limit(tree, admin, settings):
    # Django's 2.5 MB default is for forms; a city's grid layer is larger and must still pass.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 200
    resp = post_api(admin, good_file())
    assert resp.status_code == 200 and len(new_codes()) == 3


def test_api_is_for_administrators_only(tree, community_staff):
    resp = post_api(client_for(community_staff), good_file())
    assert resp.status_code == 403
    assert resp.json()["permission"] == "regions.import"
    assert post_api(client_for(), good_file()).status_code == 401
    assert new_codes() == []


def test_api_token_needs_the_import_scope(tree, admin_user, monkeypatch):
    # roles.TOKEN_SCOPES has no import scope yet; declare it here until the lead adds it.
    if "regions:import" not in TOKEN_SCOPES:
        monkeypatch.setitem(TOKEN_SCOPES, "regions:import", "regions.import")
    _token, read_only = issue_token(None, username=admin_user.username, name="gis-read",
                                    scopes=["regions:read"])
    _token, importer = issue_token(None, username=admin_user.username, name="gis-sync",
                                   scopes=["regions:import"])
    anonymous = client_for()

    refused = anonymous.post(API, json.dumps(good_file()), content_type="application/json",
                             headers={"authorization": f"Bearer {read_only}"})
    assert refused.status_code == 403 and new_codes() == []

    accepted = anonymous.post(API, json.dumps(good_file()), content_type="application/json",
                              headers={"authorization": f"Bearer {importer}"})
    assert accepted.status_code == 200 and len(new_codes()) == 3
