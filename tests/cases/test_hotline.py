from __future__ import annotations

import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from wangge.cases.hotline import import_hotline
from wangge.cases.models import Case, Source

pytestmark = pytest.mark.django_db

HEADER = "工单编号,标题,内容,分类编码,地址,经度,纬度,坐标系,紧急程度,来电号码\n"
# Both points lie in the west community's south grid (box 117.00-117.02, 36.60-36.61).
GOOD = (
    HEADER
    + "HT001,垃圾堆放,小区门口垃圾三天未清,env.garbage,,117.005,36.605,wgs84,normal,13812345678\n"
    + "HT002,井盖缺失,人行道井盖丢失,road.manhole,,117.015,36.605,wgs84,urgent,\n"
)


def test_work_orders_become_cases_once(people, categories):
    report = import_hotline(people.staff, "orders.csv", GOOD.encode())
    assert report.ok and (report.created, report.unchanged) == (2, 0)
    case = Case.objects.get(external_id="HT001")
    assert case.source == Source.HOTLINE and case.region.code == "370102001001001"
    assert case.reporter_contact_masked == "138****5678"
    again = import_hotline(people.staff, "orders.csv", GOOD.encode())
    assert (again.created, again.unchanged) == (0, 2)
    assert Case.objects.count() == 2


def test_a_bad_row_is_named_and_nothing_is_written(people, categories):
    bad = GOOD + "HT003,乱贴广告,,no.such.code,,117.005,36.605,wgs84,normal,\n" \
                 "HT004,,没有标题,env.ads,,117.005,36.605,wgs84,normal,\n" \
                 "HT005,位置不对,,env.ads,,abc,36.6,wgs84,normal,\n"
    report = import_hotline(people.staff, "orders.csv", bad.encode())
    assert not report.ok and report.created == 0
    text = "\n".join(report.errors)
    assert "row 4 (order HT003)" in text and "no.such.code" in text
    assert "row 5 (order HT004): 标题 is empty" in text
    assert "row 6 (order HT005): 经度: 'abc' is not a number" in text
    assert [(p.row, p.order_no, p.field, p.column) for p in report.problems] == [
        (4, "HT003", "category", "分类编码"), (5, "HT004", "title", "标题"),
        (6, "HT005", "lon", "经度")]
    assert not Case.objects.exists()


def test_rows_are_numbered_as_in_the_spreadsheet_blank_rows_included(people, categories):
    bad = GOOD + ",,,,,,,,,\n\nHT003,乱贴广告,,no.such.code,,117.005,36.605,wgs84,normal,\n"
    report = import_hotline(people.staff, "orders.csv", bad.encode())
    assert report.errors[0].startswith("row 6 (order HT003)")


def test_missing_column_and_empty_file(people, categories):
    report = import_hotline(people.staff, "o.csv", "工单编号,内容\nX,y\n".encode())
    assert report.errors == ["row 1: missing column 标题/title",
                             "row 1: missing column 分类编码/category"]
    assert import_hotline(people.staff, "o.csv", b"").errors == ["o.csv: the file is empty"]
    assert import_hotline(people.staff, "o.csv", b"\n,,\n").errors == [
        "o.csv: the file is empty"]


def test_unreadable_workbooks_are_named(people, categories):
    report = import_hotline(people.staff, "orders.xlsx", b"PK\x03\x04 not really a zip")
    [line] = report.errors
    assert line.startswith("orders.xlsx: not a readable XLSX workbook")
    old = import_hotline(people.staff, "orders.xls", b"\xd0\xcf\x11\xe0")
    assert old.errors == ["orders.xls: old-style .xls workbooks cannot be read; save the file "
                          "as .xlsx or CSV"]


def test_too_many_rows_is_refused_before_filing(people, categories, monkeypatch):
    from wangge.cases import hotline

    monkeypatch.setattr(hotline, "MAX_ROWS", 1)
    report = import_hotline(people.staff, "orders.csv", GOOD.encode())
    assert report.errors == ["orders.csv: more than 1 work orders; split the file into files "
                             "of at most 1 rows"]
    assert report.rows == 0 and not Case.objects.exists()



def test_xlsx_and_gbk_csv(people, categories):
    wb = Workbook()
    for line in GOOD.strip().splitlines():
        wb.active.append(line.split(","))
    buf = io.BytesIO()
    wb.save(buf)
    assert import_hotline(people.staff, "orders.xlsx", buf.getvalue()).created == 2
    Case.objects.all().delete()
    report = import_hotline(people.staff, "orders.csv", GOOD.encode("gbk"))
    assert report.ok


def test_dry_run_writes_nothing(people, categories):
    report = import_hotline(people.staff, "orders.csv", GOOD.encode(), dry_run=True)
    assert report.ok and report.created == 2
    assert not Case.objects.exists()


def test_roles_without_import_are_refused(people, categories):
    with pytest.raises(PermissionDenied):
        import_hotline(people.grid_worker, "orders.csv", GOOD.encode())


def test_command(people, categories, tmp_path, capsys):
    path = tmp_path / "orders.csv"
    path.write_text(GOOD, encoding="utf-8")
    call_command("import_hotline", str(path), "--as", people.staff.username)
    assert "filed 2 new cases" in capsys.readouterr().out
    path.write_text(GOOD + "HT009,x,,nope,,117.005,36.605,wgs84,normal,\n", encoding="utf-8")
    with pytest.raises(CommandError, match="row 4"):
        call_command("import_hotline", str(path), "--as", people.staff.username)


def test_another_account_importing_the_same_orders_files_nothing_again(people, categories):
    assert import_hotline(people.staff, "orders.csv", GOOD.encode()).created == 2
    report = import_hotline(people.command, "orders.csv", GOOD.encode())
    assert report.ok and (report.created, report.unchanged) == (0, 2)
    assert Case.objects.count() == 2


def test_a_changed_order_is_refused_naming_the_case_it_became(people, categories):
    import_hotline(people.staff, "orders.csv", GOOD.encode())
    changed = GOOD.replace("垃圾堆放", "垃圾堆放（更新）")
    report = import_hotline(people.staff, "orders.csv", changed.encode())
    code = Case.objects.get(external_id="HT001").code
    assert report.errors == [
        f"row 2 (order HT001): order HT001 was imported before as case {code}, with different "
        "content; an import never changes a filed case: update that case, or remove the row"]
    assert report.problems[0].column == "工单编号"
