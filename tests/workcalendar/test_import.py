"""Entering a year's schedule from CSV/XLSX: row-named errors, all or nothing, audited."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from tests.factories import make_user
from wangge.accounts.roles import Role
from wangge.audit.models import AuditRecord
from wangge.workcalendar.importer import import_schedule
from wangge.workcalendar.models import DayOverride
from wangge.workcalendar.services import (
    Source,
    add_working_hours,
    calendar_status,
    is_workday,
    set_day,
)

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db

# A plausible 2027 National Day: 1-7 Oct off, Sat 9 Oct a make-up working day.
SCHEDULE_2027 = (
    "date,is_workday,name\n"
    + "".join(f"2027-10-0{d},0,国庆节\n" for d in range(1, 8))
    + "2027-10-09,1,国庆调休\n"
)


def test_csv_schedule_for_an_unpublished_year():
    assert calendar_status(2027).source == Source.WEEKENDS
    report = import_schedule(SCHEDULE_2027.encode(), filename="2027.csv")
    assert report.ok, report.errors
    assert (report.rows, len(report.created), report.years) == (8, 8, [2027])
    assert calendar_status(2027).source == Source.ADMINISTRATOR
    assert not is_workday(dt.date(2027, 10, 4))
    assert is_workday(dt.date(2027, 10, 9)), "the make-up Saturday"
    # Thu 30 Sep 2027 17:00 + 1 h: the holiday week is skipped, Fri 8 Oct 09:30.
    start = dt.datetime(2027, 9, 30, 17, tzinfo=SH)
    assert add_working_hours(start, 1) == dt.datetime(2027, 10, 8, 9, 30, tzinfo=SH)
    rec = AuditRecord.objects.get(action="workcalendar.import")
    assert "2027-10-09" in rec.detail and rec.object_id == "2027"

    again = import_schedule(SCHEDULE_2027.encode(), filename="2027.csv")
    assert again.ok and again.unchanged == 8 and not again.created and not again.updated
    assert AuditRecord.objects.filter(action="workcalendar.import").count() == 1, \
        "a repeat that changes nothing writes nothing"


def test_xlsx_with_date_cells_and_chinese_headers():
    book = Workbook()
    sheet = book.active
    sheet.append(["日期", "是否工作日", "名称", "备注"])
    sheet.append([dt.datetime(2027, 2, 6), "班", "春节调休", ""])
    sheet.append([dt.date(2027, 2, 8), "休", "春节", "除夕前"])
    buffer = io.BytesIO()
    book.save(buffer)
    report = import_schedule(buffer.getvalue(), filename="春节2027.xlsx")
    assert report.ok, report.errors
    assert is_workday(dt.date(2027, 2, 6)) and not is_workday(dt.date(2027, 2, 8))
    assert DayOverride.objects.get(date=dt.date(2027, 2, 8)).note == "除夕前"


def test_gbk_csv_as_excel_saves_it():
    text = "日期,是否工作日,名称\n2027/1/1,否,元旦\n"
    report = import_schedule(text.encode("gb18030"), filename="2027.csv")
    assert report.ok, report.errors
    assert DayOverride.objects.get().name == "元旦"


def test_bad_rows_are_named_and_nothing_is_written():
    text = ("date,is_workday,name\n"
            "2027-10-01,0,国庆节\n"
            "2027-02-30,0,no such day\n"
            "2027-10-02,maybe,国庆节\n"
            "\n"
            "2027-10-01,1,twice\n")
    report = import_schedule(text.encode(), filename="bad.csv")
    assert not report.ok
    assert report.errors == [
        "row 3: date '2027-02-30' is not a date (write it as 2027-10-01)",
        "row 4: is_workday 'maybe' must be 1 (working day) or 0 (day off)",
        "row 6: date 2027-10-01 is already given on row 2",
    ]
    assert report.summary() == "3 problems found; nothing was written"
    assert not DayOverride.objects.exists()
    assert not AuditRecord.objects.filter(action="workcalendar.import").exists()


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty"),
    (b"day,off\n2027-01-01,1\n", "row 1: the header must name the columns"),
    (b"date,is_workday,name\n", "the file has a header but no days"),
    (b"PK\x03\x04not really a workbook", "is not a readable XLSX workbook"),
])
def test_unusable_files_are_refused(content, message):
    report = import_schedule(content, filename="x.csv")
    assert not report.ok and message in report.errors[0]


def test_replace_years_removes_days_the_corrected_schedule_dropped():
    set_day(dt.date(2027, 5, 6), False, name="劳动节 (draft)")
    set_day(dt.date(2026, 12, 28), False, name="another year, untouched")
    report = import_schedule(SCHEDULE_2027.encode(), filename="2027.csv", replace_years=True)
    assert report.removed == ["2027-05-06"]
    assert not DayOverride.objects.filter(date=dt.date(2027, 5, 6)).exists()
    assert DayOverride.objects.filter(date=dt.date(2026, 12, 28)).exists()


def test_dry_run_writes_nothing():
    report = import_schedule(SCHEDULE_2027.encode(), filename="2027.csv", dry_run=True)
    assert report.ok and len(report.created) == 8
    assert report.summary().startswith("dry run, nothing written")
    assert not DayOverride.objects.exists()


def test_command(tmp_path):
    good = tmp_path / "2027.csv"
    good.write_text(SCHEDULE_2027, encoding="utf-8")
    out = io.StringIO()
    call_command("import_calendar", str(good), stdout=out)
    assert "8 days read: 8 added" in out.getvalue()
    assert "year 2027 not published yet: 8 days entered by administrators" in out.getvalue()
    bad = tmp_path / "bad.csv"
    bad.write_text("date,is_workday\n2027-13-01,1\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 problem found; nothing was written"):
        call_command("import_calendar", str(bad), stderr=err)
    assert "row 2: date '2027-13-01'" in err.getvalue()


def test_status_command_says_which_years_are_missing():
    out = io.StringIO()
    call_command("calendar_status", "2026", "2027", stdout=out)
    assert "2027\tweekends\tyear 2027 not published yet: weekends only" in out.getvalue()
    assert "2026\tofficial" in out.getvalue()


def test_admin_pages(client, admin_user):
    client.force_login(admin_user)
    changelist = reverse("admin:workcalendar_dayoverride_changelist")
    page = client.get(changelist, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert reverse("admin:workcalendar_dayoverride_import").encode() in page.content
    next_year = timezone.localdate().year + 1
    assert calendar_status(next_year).message in page.content.decode(), \
        "the list says whether next year's schedule is known"

    url = reverse("admin:workcalendar_dayoverride_import")
    bad = io.BytesIO(b"date,is_workday,name\n2027-10-01,x,bad\n")
    bad.name = "bad.csv"
    page = client.post(url, {"file": bad})
    assert page.status_code == 200
    assert "row 2: is_workday &#x27;x&#x27;" in page.content.decode()
    assert not DayOverride.objects.exists()

    good = io.BytesIO(SCHEDULE_2027.encode())
    good.name = "2027.csv"
    page = client.post(url, {"file": good})
    assert page.status_code == 302 and page["Location"] == changelist
    assert DayOverride.objects.count() == 8

    # Entering one day by hand records who did it.
    page = client.post(reverse("admin:workcalendar_dayoverride_add"),
                       {"date": "2027-12-31", "is_workday": "", "name": "跨年", "note": ""})
    assert page.status_code == 302
    assert DayOverride.objects.get(date=dt.date(2027, 12, 31)).created_by == admin_user
    assert not is_workday(dt.date(2027, 12, 31))
    assert AuditRecord.objects.filter(action="admin.add",
                                      object_type="workcalendar.dayoverride").exists()


def test_admin_import_needs_an_administrator(client, tree):
    client.force_login(make_user("street_staff", Role.STAFF, tree["370102001"]))
    page = client.post(reverse("admin:workcalendar_dayoverride_import"),
                       {"file": io.BytesIO(SCHEDULE_2027.encode())})
    assert page.status_code == 302 and "/login/" in page["Location"]
    assert not DayOverride.objects.exists()
