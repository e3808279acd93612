"""Exports of a registry search: CSV and XLSX, masked, scoped, capped, audited."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook

from tests.registry.pages_data import NAME_A, PHONE_A, assert_no_clear, build
from tests.registry_factories import ID_A
from wangge.audit.models import AuditRecord
from wangge.registry import exports

pytestmark = pytest.mark.django_db
URL = "/registry/export/{fmt}/"


@pytest.fixture
def client(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # assertions read the English msgids
    return client


@pytest.fixture
def city(tree, hukou, elderly_list, correction_tag, civil_affairs):
    return build(tree, hukou, elderly_list, correction_tag, civil_affairs)


def csv_rows(response) -> list[list[str]]:
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def xlsx_rows(response) -> list[list[str]]:
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return [[("" if c is None else str(c)) for c in row]
            for row in book.worksheets[0].iter_rows(values_only=True)]


def test_csv_is_masked_and_scoped(client, city, community_staff):
    client.force_login(community_staff)
    response = client.get(URL.format(fmt="csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="registry-persons-')
    rows = csv_rows(response)
    assert rows[0][:5] == ["record", "full name", "ID number", "phone", "current address"]
    by_id = {r[0]: r for r in rows[1:]}
    assert set(by_id) == {str(city.a.pk), str(city.b.pk)}  # 李四 is in the east
    a = by_id[str(city.a.pk)]
    assert a[1:5] == ["张*明", "3701**********211X", "138****5678",
                      "山东省济南市历下区阳光花园3号楼***"]
    assert "独居老人" in by_id[str(city.b.pk)][-1]
    assert_no_clear(response.content)


def test_xlsx_is_masked(client, city, grid_worker):
    client.force_login(grid_worker)
    response = client.get(URL.format(fmt="xlsx"), {"tag": "elderly_alone"})
    assert response.status_code == 200
    assert response["Content-Type"] == exports.XLSX_TYPE
    rows = xlsx_rows(response)
    assert len(rows) == 2 and rows[1][0] == str(city.b.pk)
    assert rows[1][2] == "3701**********0022"
    text = "\n".join("\t".join(r) for r in rows)
    assert_no_clear(text)
    assert "社区矫正" not in text


def test_export_is_audited_with_query_and_count_without_values(client, city, community_staff):
    client.force_login(community_staff)
    client.get(URL.format(fmt="csv"), {"q": ID_A})
    client.get(URL.format(fmt="xlsx"), {"q": f"{NAME_A}"})
    client.get(URL.format(fmt="csv"), {"q": PHONE_A})
    records = list(AuditRecord.objects.filter(action="registry.export").order_by("seq"))
    assert len(records) == 3
    first = json.loads(records[0].detail)
    assert first["format"] == "csv" and first["rows"] == 1 and first["total"] == 1
    assert first["query"] == {"kind": "persons", "q": "3701**********211X",
                              "by": "id_number"}
    assert json.loads(records[1].detail)["query"]["q"] == "张*明"
    assert json.loads(records[2].detail)["query"]["q"] == "138****5678"
    assert records[0].object_type == "registry.persons"
    for rec in records:
        assert_no_clear(rec.detail + rec.purpose)


def test_export_is_capped_and_the_page_says_so(client, city, police_handler, monkeypatch):
    monkeypatch.setattr(exports, "EXPORT_CAP", 2)
    client.force_login(police_handler)
    page = client.get("/registry/").content.decode()
    assert "at most 2 rows" in page and "narrow it to export them all" in page
    rows = csv_rows(client.get(URL.format(fmt="csv")))
    assert len(rows) == 3  # the header and two of the three persons
    detail = json.loads(AuditRecord.objects.get(action="registry.export").detail)
    assert detail["rows"] == 2 and detail["total"] == 3


def test_other_kinds_export(client, city, community_staff):
    client.force_login(community_staff)
    rows = csv_rows(client.get(URL.format(fmt="csv"), {"kind": "houses", "usage": "rented"}))
    assert rows[0][:4] == ["record", "building", "unit and room", "use"]
    assert [r[0] for r in rows[1:]] == [str(city.rented.pk)]
    orgs = xlsx_rows(client.get(URL.format(fmt="xlsx"), {"kind": "organisations"}))
    assert orgs[1][1] == "泉城科技有限公司"


def test_refusals(client, city, community_staff, admin_user, correction_tag):
    assert client.get(URL.format(fmt="csv")).status_code == 302  # log in first
    client.force_login(admin_user)
    assert client.get(URL.format(fmt="csv")).status_code == 403
    client.force_login(community_staff)
    assert client.get(URL.format(fmt="pdf")).status_code == 404
    hidden = client.get(URL.format(fmt="csv"), {"tag": correction_tag.code})
    assert hidden.status_code == 422 and "There is no tag" in hidden.content.decode()
    assert not AuditRecord.objects.filter(action="registry.export").exists()


def test_formula_like_cells_are_written_as_text():
    _headers, cells = exports.table("organisations", [{
        "id": 1, "name": "=HYPERLINK(\"http://x\")", "kind_label": "enterprise",
        "credit_code": "", "address": "+1", "employees": None, "grid": "", "grid_name": ""}])
    assert cells[0][1].startswith("'=") and cells[0][4] == "'+1" and cells[0][5] == ""
