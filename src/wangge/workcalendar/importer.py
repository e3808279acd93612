"""Importing a year's schedule of holidays and 调休 days — 导入年度放假安排.

Administrators use it when the State Council has published a year the calendar library does
not know yet, or to correct a day. CSV (UTF-8 or GB18030, as Excel saves it on a Chinese
Windows) or XLSX; every row is checked before anything is written, and a problem is named by
the row number a spreadsheet shows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from wangge.audit.services import record

from .models import DayOverride
from .services import invalidate

HEADERS = {
    "date": {"date", "日期"},
    "is_workday": {"is_workday", "workday", "是否工作日", "工作日", "是否上班"},
    "name": {"name", "名称", "节日", "节假日", "说明"},
    "note": {"note", "备注"},
}
TRUE_WORDS = {"1", "true", "yes", "y", "t", "workday", "是", "班", "上班", "工作日"}
FALSE_WORDS = {"0", "false", "no", "n", "f", "off", "holiday", "否", "休", "休息", "休息日",
               "放假", "节假日"}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")
MAX_ERRORS = 200


@dataclass
class ScheduleImport:
    """The outcome of one schedule import. ``errors`` non-empty means nothing was written."""

    origin: str
    rows: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.errors:
            return ngettext("%(count)s problem found; nothing was written",
                            "%(count)s problems found; nothing was written",
                            len(self.errors)) % {"count": len(self.errors)}
        text = _("%(rows)s days read: %(created)s added, %(updated)s changed, "
                 "%(unchanged)s unchanged, %(removed)s removed") % {
            "rows": self.rows, "created": len(self.created), "updated": len(self.updated),
            "unchanged": self.unchanged, "removed": len(self.removed)}
        if self.dry_run:
            text = _("dry run, nothing written: ") + text
        return text


@dataclass(frozen=True)
class _Row:
    line: int
    date: dt.date
    is_workday: bool
    name: str
    note: str


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _read_rows(data: bytes, filename: str) -> Iterator[tuple[int, list[Any]]]:
    """(row number as a spreadsheet shows it, cells) for a CSV or XLSX file."""
    if filename.lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise ValueError(_("%(file)s is not a readable XLSX workbook (%(error)s)") % {
                "file": filename, "error": exc}) from exc
        try:
            sheet = book.worksheets[0]
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, list(cells)
        finally:
            book.close()
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on a Chinese Windows saves CSV in GB18030 (GBK) unless told otherwise.
        text = data.decode("gb18030")
    yield from enumerate(csv.reader(io.StringIO(text)), start=1)


def _parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _cell_text(value)
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _parse_flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _cell_text(value).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return None


def _column(cells: list[Any], columns: dict[str, int], key: str) -> Any:
    index = columns.get(key)
    return cells[index] if index is not None and index < len(cells) else None


def _validate(lines: Iterable[tuple[int, list[Any]]], report: ScheduleImport) -> list[_Row]:
    columns: dict[str, int] | None = None
    rows: list[_Row] = []
    seen: dict[dt.date, int] = {}

    def fail(message: str) -> None:
        if len(report.errors) < MAX_ERRORS:
            report.errors.append(message)

    for number, cells in lines:
        texts = [_cell_text(c) for c in cells]
        if not any(texts):
            continue
        if columns is None:
            columns = {}
            for index, heading in enumerate(texts):
                for key, names in HEADERS.items():
                    if heading.lower() in names:
                        columns[key] = index
            missing = [key for key in ("date", "is_workday") if key not in columns]
            if missing:
                fail(_("row %(row)s: the header must name the columns date, is_workday and "
                       "name; missing %(missing)s") % {"row": number,
                                                       "missing": ", ".join(missing)})
                return []
            continue
        raw_date, raw_flag = _column(cells, columns, "date"), _column(cells, columns, "is_workday")
        day = _parse_date(raw_date)
        flag = _parse_flag(raw_flag)
        name = _cell_text(_column(cells, columns, "name"))
        note = _cell_text(_column(cells, columns, "note"))
        problems = []
        if day is None:
            problems.append(_("date %(value)r is not a date (write it as 2027-10-01)")
                            % {"value": _cell_text(raw_date)})
        elif day in seen:
            problems.append(_("date %(date)s is already given on row %(other)s")
                            % {"date": day.isoformat(), "other": seen[day]})
        if flag is None:
            problems.append(_("is_workday %(value)r must be 1 (working day) or 0 (day off)")
                            % {"value": _cell_text(raw_flag)})
        if len(name) > 80:
            problems.append(_("name is longer than 80 characters"))
        if len(note) > 300:
            problems.append(_("note is longer than 300 characters"))
        for problem in problems:
            fail(_("row %(row)s: %(problem)s") % {"row": number, "problem": problem})
        if problems:
            continue
        seen[day] = number
        rows.append(_Row(number, day, flag, name, note))
    if columns is None:
        fail(_("the file is empty: expected a header row date, is_workday, name"))
    elif not rows and not report.errors:
        fail(_("the file has a header but no days"))
    return rows


def import_schedule(source: str | Path | bytes | IO[bytes], *, filename: str = "",
                    replace_years: bool = False, dry_run: bool = False,
                    user=None) -> ScheduleImport:
    """Load a year's schedule (holidays and 调休 days) from CSV or XLSX, all or nothing.

    Columns: ``date`` (2027-10-01), ``is_workday`` (1/0, 是/否, 班/休), ``name`` and an
    optional ``note``. Every row is checked before anything is written; a problem is named
    by its row. With ``replace_years`` the overrides of the years in the file that the file
    no longer lists are removed, so a corrected schedule replaces the old one.
    """
    if isinstance(source, bytes):
        data, origin = source, filename or "upload"
    elif isinstance(source, str | Path):
        path = Path(source)
        data, origin = path.read_bytes(), str(path)
        filename = filename or path.name
    else:
        data, origin = source.read(), filename or getattr(source, "name", "upload")
    report = ScheduleImport(origin=str(origin), dry_run=dry_run)
    try:
        rows = _validate(_read_rows(data, filename or str(origin)), report)
    except (ValueError, UnicodeDecodeError) as exc:
        report.errors.append(str(exc))
        return report
    if report.errors:
        return report
    report.rows = len(rows)
    report.years = sorted({row.date.year for row in rows})
    with transaction.atomic():
        existing = {o.date: o for o in DayOverride.objects.filter(
            date__in=[row.date for row in rows])}
        for row in rows:
            current = existing.get(row.date)
            if current is None:
                report.created.append(row.date.isoformat())
                if not dry_run:
                    DayOverride.objects.create(date=row.date, is_workday=row.is_workday,
                                               name=row.name, note=row.note, created_by=user)
            elif (current.is_workday, current.name, current.note) != (
                    row.is_workday, row.name, row.note):
                report.updated.append(row.date.isoformat())
                if not dry_run:
                    current.is_workday, current.name, current.note = (
                        row.is_workday, row.name, row.note)
                    current.save(update_fields=["is_workday", "name", "note", "updated_at"])
            else:
                report.unchanged += 1
        if replace_years:
            listed = {row.date for row in rows}
            stale = (DayOverride.objects.filter(date__year__in=report.years)
                     .exclude(date__in=listed))
            report.removed = [d.isoformat() for d in stale.values_list("date", flat=True)]
            if not dry_run:
                stale.delete()
        if not dry_run and (report.created or report.updated or report.removed):
            record("workcalendar.import", object_type="workcalendar.dayoverride",
                   object_id=",".join(map(str, report.years)),
                   detail={"origin": report.origin, "created": report.created,
                           "updated": report.updated, "removed": report.removed,
                           "unchanged": report.unchanged})
            transaction.on_commit(invalidate)
            invalidate()
    return report
