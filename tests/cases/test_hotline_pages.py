"""The hotline import page (upload → preview → commit) and its API, as users and clients meet
them: what they are told about each bad row, that a commit files once, and who is refused."""

from __future__ import annotations

import io
import re
import stat
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import Workbook

from tests.cases.conftest import english_client
from wangge.accounts.services import issue_token
from wangge.cases import hotline_api, hotline_views
from wangge.cases.models import Case, Category, Source

pytestmark = pytest.mark.django_db

PAGE = "/cases/hotline/"
API = "/api/v1/cases/hotline-import"
HEADER = "工单编号,标题,内容,分类编码,地址,经度,纬度,坐标系,紧急程度,来电号码\n"
# Both points lie in the west community's south grid.
GOOD = (
    HEADER
    + "HT001,垃圾堆放,小区门口垃圾三天未清,env.garbage,,117.005,36.605,wgs84,normal,13812345678\n"
    + "HT002,井盖缺失,人行道井盖丢失,road.manhole,,117.015,36.605,wgs84,urgent,\n"
)
# Row 2 is fine; 3 names no category; 4 has no title; 5 has a longitude that is no number.
BAD = (
    HEADER
    + "HT001,垃圾堆放,,env.garbage,,117.005,36.605,wgs84,normal,\n"
    + "HT003,乱贴广告,,no.such.code,,117.005,36.605,wgs84,normal,\n"
    + "HT004,,没有标题,env.ads,,117.005,36.605,wgs84,normal,\n"
    + "HT005,位置不对,,env.ads,,abc,36.6,wgs84,normal,\n"
)


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


def csv_file(text: str = GOOD, name: str = "orders.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def xlsx_bytes(text: str = GOOD) -> bytes:
    wb = Workbook()
    for line in text.strip().splitlines():
        wb.active.append(line.split(","))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def html(resp) -> str:
    return resp.content.decode()


def preview(c: Client, upload: SimpleUploadedFile):
    return c.post(PAGE, {"action": "preview", "file": upload})


def token_of(resp) -> str:
    found = re.search(r'name="token" value="([0-9a-f]+)"', html(resp))
    assert found, "no commit button on the page"
    return found.group(1)


def commit(c: Client, token: str):
    return c.post(PAGE, {"action": "commit", "token": token})


def error_rows(resp) -> list[tuple[str, str, str, str]]:
    """(row, order number, column, problem) of every line of the problems table."""
    table = re.search(r'data-testid="import-errors".*?</table>', html(resp), re.S)
    assert table, "no problems table on the page"
    cells = re.findall(r'<tr data-row="(\d*)"[^>]*>\s*<td class="num">.*?</td>\s*'
                       r'<td class="code">(.*?)</td>\s*<td>(.*?)</td>\s*<td[^>]*>(.*?)</td>',
                       table.group(0), re.S)
    return [(row, order, column, message) for row, order, column, message in cells]


def count(resp, which: str) -> int:
    return int(re.search(rf'data-testid="count-{which}">(\d+)<', html(resp)).group(1))


def waiting_files(var_dir: Path) -> list[Path]:
    root = var_dir / "uploads" / "hotline"
    return sorted(root.glob("*/*")) if root.exists() else []


# --- the page ---------------------------------------------------------------------------------


def test_staff_find_the_page_in_their_case_tabs(people):
    page = english_client(people.staff).get(PAGE)
    assert page.status_code == 200
    assert 'data-testid="upload-form"' in html(page)
    assert 'href="/cases/hotline/" aria-current="page"' in html(page)
    queue = english_client(people.command).get("/cases/queue/")
    assert 'href="/cases/hotline/"' in html(queue)
    mine = english_client(people.grid_worker).get("/cases/mine/")
    assert "/cases/hotline/" not in html(mine)


@pytest.mark.parametrize("who", ["resident", "grid_worker", "cg", "admin"])
def test_roles_without_import_are_forbidden(people, categories, var_dir, who):
    c = english_client(getattr(people, who))
    assert c.get(PAGE).status_code == 403
    assert preview(c, csv_file()).status_code == 403
    assert not Case.objects.exists() and waiting_files(var_dir) == []


def test_anonymous_visitors_are_sent_to_sign_in(people):
    resp = Client().get(PAGE)
    assert resp.status_code == 302 and "next=/cases/hotline/" in resp["Location"]


def test_preview_with_bad_rows_lists_each_row_and_writes_nothing(people, categories, var_dir):
    resp = preview(english_client(people.staff), csv_file(BAD))

    assert resp.status_code == 200
    assert "3 problems found. Nothing will be written" in html(resp)
    rows = error_rows(resp)
    assert [r[:3] for r in rows] == [("3", "HT003", "分类编码"), ("4", "HT004", "标题"),
                                     ("5", "HT005", "经度")]
    assert "no.such.code" in rows[0][3] and "is empty" in rows[1][3]
    assert "is not a number" in rows[2][3]
    assert 'data-testid="commit-form"' not in html(resp)
    assert not Case.objects.exists() and waiting_files(var_dir) == []


def test_preview_then_commit_files_the_cases_once(people, categories, var_dir):
    c = english_client(people.staff)
    resp = preview(c, csv_file())
    assert "Dry run of 2 work orders" in html(resp)
    assert "Would file 2 new cases, 0 already imported." in html(resp)
    assert (count(resp, "rows"), count(resp, "created"), count(resp, "unchanged")) == (2, 2, 0)
    assert not Case.objects.exists()
    [waiting] = waiting_files(var_dir)
    assert waiting.parent.name == str(people.staff.pk)
    assert stat.S_IMODE(waiting.stat().st_mode) == 0o600

    done = commit(c, token_of(resp))

    assert done.status_code == 200
    assert "“orders.csv”: filed 2 new cases, 0 already imported." in html(done)
    cases = Case.objects.filter(source=Source.HOTLINE)
    assert sorted(cases.values_list("external_id", flat=True)) == ["HT001", "HT002"]
    for case in cases:
        assert f'href="/cases/{case.code}/"' in html(done)
    assert 'href="/cases/queue/?state=reported"' in html(done)
    assert [p for p in waiting_files(var_dir) if not p.name.endswith(".done.json")] == []

    again = commit(c, token_of(resp))
    assert 'data-testid="import-already"' in html(again)
    assert "nothing was filed a second time" in html(again)
    assert Case.objects.count() == 2


def test_the_same_file_uploaded_again_offers_nothing_to_commit(people, categories):
    c = english_client(people.staff)
    commit(c, token_of(preview(c, csv_file())))
    resp = preview(c, csv_file())
    assert "Would file 0 new cases, 2 already imported." in html(resp)
    assert 'data-testid="nothing-to-import"' in html(resp)
    assert 'data-testid="commit-form"' not in html(resp)
    assert Case.objects.count() == 2


def test_xlsx_previews_and_commits(people, categories):
    c = english_client(people.command)
    upload = SimpleUploadedFile("orders.xlsx", xlsx_bytes())
    resp = commit(c, token_of(preview(c, upload)))
    assert "filed 2 new cases" in html(resp)
    assert Case.objects.count() == 2


def test_a_malformed_workbook_is_named(people, categories):
    resp = preview(english_client(people.staff),
                   SimpleUploadedFile("orders.xlsx", b"PK\x03\x04 broken"))
    [(row, order, column, message)] = error_rows(resp)
    assert (row, order, column) == ("", "", "")
    assert "not a readable XLSX workbook" in message
    assert "orders.xlsx" in html(resp)


@pytest.mark.parametrize(("name", "content", "says"), [
    ("orders.txt", b"x", "is not a .csv or .xlsx file"),
    ("orders.csv", b"  \n", "The file is empty."),
])
def test_unusable_uploads_are_refused_with_a_reason(people, name, content, says):
    resp = preview(english_client(people.staff), SimpleUploadedFile(name, content))
    assert resp.status_code == 400 and says in html(resp)


def test_no_file_chosen(people):
    resp = english_client(people.staff).post(PAGE, {"action": "preview"})
    assert resp.status_code == 400 and "Choose a CSV or XLSX file" in html(resp)


def test_files_over_the_size_limit_are_refused(people, categories, monkeypatch):
    monkeypatch.setattr(hotline_views, "MAX_UPLOAD_BYTES", 100)
    resp = preview(english_client(people.staff), csv_file())
    assert resp.status_code == 413 and "the largest file that can be imported" in html(resp)


def test_commit_is_refused_when_something_changed_since_the_preview(people, categories):
    c = english_client(people.staff)
    token = token_of(preview(c, csv_file()))
    Category.objects.filter(code="road.manhole").update(is_active=False)
    from wangge.cases.services.intake import _active_categories

    _active_categories.clear()

    resp = commit(c, token)

    assert resp.status_code == 409 and "Nothing was filed" in html(resp)
    assert [r[:3] for r in error_rows(resp)] == [("3", "HT002", "分类编码")]
    assert not Case.objects.exists()


def test_another_account_cannot_commit_my_preview(people, categories):
    token = token_of(preview(english_client(people.staff), csv_file()))
    resp = commit(english_client(people.street_staff), token)
    assert resp.status_code == 400 and "no longer available" in html(resp)
    assert not Case.objects.exists()


def test_a_newer_upload_replaces_the_waiting_one(people, categories, var_dir):
    c = english_client(people.staff)
    first = token_of(preview(c, csv_file()))
    second = token_of(preview(c, csv_file(name="again.csv")))
    assert len(waiting_files(var_dir)) == 1
    assert commit(c, first).status_code == 400
    assert "filed 2 new cases" in html(commit(c, second))


def test_a_stored_upload_changed_after_the_preview_is_not_imported(people, categories,
                                                                  var_dir):
    c = english_client(people.staff)
    token = token_of(preview(c, csv_file()))
    [waiting] = waiting_files(var_dir)
    waiting.write_text(GOOD + "HT009,多出的一行,,env.ads,,117.005,36.605,wgs84,normal,\n")
    resp = commit(c, token)
    assert resp.status_code == 400 and "no longer matches" in html(resp)
    assert not Case.objects.exists()


def test_stale_waiting_uploads_are_swept(people, categories, var_dir):
    c = english_client(people.staff)
    preview(c, csv_file())
    assert hotline_views.remove_stale_uploads(max_age_seconds=-1) == 1
    assert waiting_files(var_dir) == []


def test_the_page_speaks_chinese_by_default(people):
    c = Client()
    c.force_login(people.staff)
    page = html(c.get(PAGE))
    assert "上传文件" in page and "检查文件" in page


# --- the API ----------------------------------------------------------------------------------


def bearer(user, *scopes) -> dict:
    _, secret = issue_token(None, username=user.username, name="hotline", scopes=list(scopes))
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def post_api(c: Client, upload: SimpleUploadedFile | None, query: str = "", data=None,
             **headers):
    body = dict(data or {})
    if upload is not None:
        body["file"] = upload
    return c.post(API + query, body, **headers)


def test_api_with_a_token_files_the_orders_once(people, categories):
    auth = bearer(people.staff, "cases:import")

    resp = post_api(english_client(), csv_file(), **auth)

    assert resp.status_code == 200
    body = resp.json()
    assert (body["rows"], body["created"], body["unchanged"], body["dry_run"]) == (2, 2, 0, False)
    assert body["errors"] == []
    assert sorted(body["codes"]) == sorted(Case.objects.values_list("code", flat=True))
    again = post_api(english_client(), csv_file(), **auth).json()
    assert (again["created"], again["unchanged"], again["codes"]) == (0, 2, [])
    assert Case.objects.count() == 2


def test_api_answers_422_with_each_row_and_writes_nothing(people, categories):
    resp = post_api(english_client(), csv_file(BAD), **bearer(people.staff, "cases:import"))

    assert resp.status_code == 422
    body = resp.json()
    assert [(e["row"], e["order_no"], e["field"], e["column"]) for e in body["errors"]] == [
        (3, "HT003", "category", "分类编码"), (4, "HT004", "title", "标题"),
        (5, "HT005", "lon", "经度")]
    assert (body["created"], body["codes"]) == (0, [])
    assert not Case.objects.exists()


def test_api_dry_run_counts_and_writes_nothing(people, categories):
    c = english_client(people.staff)
    by_query = post_api(c, csv_file(), query="?dry_run=true").json()
    by_form = post_api(c, csv_file(), data={"dry_run": "true"}).json()
    for body in (by_query, by_form):
        assert (body["dry_run"], body["created"], body["codes"]) == (True, 2, [])
    assert not Case.objects.exists()
    refused = post_api(c, csv_file(), data={"dry_run": "maybe"})
    assert refused.status_code == 422 and not Case.objects.exists()


def test_api_refuses_tokens_without_the_scope_and_roles_without_the_permission(people,
                                                                               categories):
    no_scope = post_api(english_client(), csv_file(), **bearer(people.staff, "cases:report"))
    assert no_scope.status_code == 403 and no_scope.json()["permission"] == "cases.import"
    wrong_role = post_api(english_client(), csv_file(),
                          **bearer(people.grid_worker, "cases:import", "cases:report"))
    assert wrong_role.status_code == 403
    assert post_api(english_client(people.resident), csv_file()).status_code == 403
    assert post_api(english_client(), csv_file()).status_code == 401
    assert not Case.objects.exists()


def test_api_names_a_malformed_workbook(people, categories):
    resp = post_api(english_client(people.staff),
                    SimpleUploadedFile("orders.xlsx", b"PK\x03\x04 broken"))
    assert resp.status_code == 422
    [problem] = resp.json()["errors"]
    assert problem["row"] is None and problem["file"] == "orders.xlsx"
    assert problem["message"].startswith("not a readable XLSX workbook")


def test_api_without_a_file_or_over_the_limit(people, categories, monkeypatch):
    c = english_client(people.staff)
    missing = post_api(c, None, data={"other": "x"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "file"
    monkeypatch.setattr(hotline_views, "MAX_UPLOAD_BYTES", 100)
    too_big = post_api(c, csv_file())
    assert too_big.status_code == 413 and "split" in too_big.json()["detail"]
    # A body declared far past the limit is refused before it is read.
    monkeypatch.setattr(hotline_api, "MAX_UPLOAD_BYTES", 100)
    padded = GOOD + "#" * (hotline_api._MULTIPART_SLACK + 1000)
    assert post_api(c, csv_file(padded)).status_code == 413
    assert not Case.objects.exists()


def test_api_is_documented(people):
    schema = english_client(people.admin).get("/api/v1/openapi.json").json()
    operation = schema["paths"][API]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert {"200", "413", "422"} <= set(operation["responses"])
    assert any(p["name"] == "dry_run" for p in operation["parameters"])
