"""12345 hotline work-order import — 热线工单导入 (CSV or XLSX).

Each row becomes a case through the ordinary intake (locate, route, timeline, audit). The
hotline's order number is the idempotency key, so importing the same file twice files
nothing new. All rows are filed in one transaction: one bad row and nothing is written, and
the report names every bad row, its order number and the column at fault (as headed in the
file), in the active language, so the page, the API and the command tell the same story.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from django.db import transaction
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from wangge.accounts.permissions import require_permission

from .models import Case, Source
from .services import CaseConflict, CaseError, CaseInput, submit_case

# Our field ← the headers a hotline export may use (Chinese first, as exported).
COLUMNS: dict[str, tuple[str, ...]] = {
    "order_no": ("工单编号", "order_no"),
    "title": ("标题", "title"),
    "description": ("内容", "description"),
    "category": ("分类编码", "category"),
    "address": ("地址", "address"),
    "lon": ("经度", "lon"),
    "lat": ("纬度", "lat"),
    "crs": ("坐标系", "crs"),
    "urgency": ("紧急程度", "urgency"),
    "phone": ("来电号码", "phone"),
}
REQUIRED = ("order_no", "title", "category")
MAX_ROWS = 5000
# Intake names some inputs by its own words; these are the file's columns they came from.
INTAKE_FIELDS = {"contact_phone": "phone", "external_id": "order_no",
                 "idempotency_key": "order_no"}
_ZIP_MAGIC = b"PK\x03\x04"


class _Abort(Exception):
    """Raised inside the transaction so that a file with any bad row writes nothing."""


class UnreadableFile(Exception):
    """The file can't be turned into rows; the message says why, in the reader's words."""


@dataclass(frozen=True)
class HotlineProblem:
    """One thing wrong with the file, placed where the person fixing it will look.

    ``row`` counts as a spreadsheet does (the header is row 1; blank rows count too), None for
    the file as a whole. ``field`` is our name for the input ("category"), ``column`` the
    header the file gave it ("分类编码"); both empty when the whole row is at fault.
    """

    message: str
    row: int | None = None
    order_no: str = ""
    field: str = ""
    column: str = ""
    file: str = ""

    def __str__(self) -> str:
        values = {"file": self.file, "row": self.row, "order": self.order_no,
                  "problem": self.message}
        if self.row is None:
            return _("%(file)s: %(problem)s") % values
        if self.order_no:
            return _("row %(row)s (order %(order)s): %(problem)s") % values
        return _("row %(row)s: %(problem)s") % values


@dataclass
class HotlineReport:
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    problems: list[HotlineProblem] = field(default_factory=list)
    dry_run: bool = False
    # Numbers of the cases this import filed (empty for a dry run, which files nothing).
    codes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def errors(self) -> list[str]:
        """Each problem as one line: "row 4 (order HT003): category: …"."""
        return [str(p) for p in self.problems]


def _is_xlsx(filename: str, content: bytes) -> bool:
    # A workbook renamed to .csv is still a workbook: decoding it as text would only produce
    # a baffling "missing column".
    return filename.lower().endswith(".xlsx") or content.startswith(_ZIP_MAGIC)


def _numbered_rows(filename: str, content: bytes) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as text) for each row, header first, from CSV or XLSX."""
    if filename.lower().endswith(".xls"):
        raise UnreadableFile(_("old-style .xls workbooks cannot be read; save the file as "
                               ".xlsx or CSV"))
    if _is_xlsx(filename, content):
        yield from _workbook_rows(content)
        return
    text = _decode(content)
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            yield number, [cell.strip() for cell in row]
    except csv.Error as exc:
        raise UnreadableFile(_("cannot be read as CSV (%(error)s)") % {"error": exc}) from exc


def _workbook_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    workbook = None
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        for number, row in enumerate(workbook.active.iter_rows(values_only=True), start=1):
            yield number, ["" if v is None else str(v).strip() for v in row]
    # Whatever a broken workbook throws (bad zip, missing part, bad XML) means the same to
    # the person holding it: this file can't be read.
    except Exception as exc:
        raise UnreadableFile(
            _("not a readable XLSX workbook (%(error)s); save it again as .xlsx from Excel "
              "or WPS, or export CSV") % {"error": str(exc) or type(exc).__name__}) from exc
    finally:
        if workbook is not None:
            workbook.close()


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("gb18030", errors="replace")  # hotline exports from Windows


def read_table(filename: str, content: bytes) -> list[list[str]]:
    """The file's cells as text rows (header first), from CSV (UTF-8 or GBK) or XLSX."""
    return [row for _number, row in _numbered_rows(filename, content)]


def _header_map(header: list[str]) -> tuple[dict[str, int], list[str]]:
    """Column index of each of our fields the header names, and the required ones missing."""
    index, missing = {}, []
    for key, names in COLUMNS.items():
        found = next((i for i, h in enumerate(header) if h in names), None)
        if found is not None:
            index[key] = found
        elif key in REQUIRED:
            missing.append(key)
    return index, missing


def _case_input(values: dict[str, str], columns: dict[str, str]) -> CaseInput:
    def number(key: str) -> float | None:
        raw = values.get(key, "")
        if not raw:
            return None
        try:
            return float(raw)
        except ValueError:
            raise CaseError(_("%(column)s: %(value)s is not a number")
                            % {"column": columns[key], "value": repr(raw)},
                            status=422, field=key) from None

    lon, lat = number("lon"), number("lat")
    return CaseInput(
        category=values["category"], title=values["title"],
        description=values.get("description", ""), source=Source.HOTLINE,
        urgency=values.get("urgency") or "normal", lon=lon, lat=lat,
        crs=(values.get("crs") or "wgs84") if lon is not None else None,
        address=values.get("address", ""), contact_phone=values.get("phone", ""),
        external_id=values["order_no"], idempotency_key=f"hotline-{values['order_no']}",
    )


class _Table:
    """The non-blank rows of the file with their real row numbers, the header read."""

    def __init__(self, filename: str, content: bytes) -> None:
        rows = ((n, row) for n, row in _numbered_rows(filename, content) if any(row))
        # One past the limit is enough to know the file is too long; reading on would only
        # hold a huge (or hostile) workbook in memory.
        self.rows = list(islice(rows, MAX_ROWS + 2))
        self.header = self.rows[0][1] if self.rows else []
        self.index, self.missing = _header_map(self.header)
        self.columns = {key: self.header[i] for key, i in self.index.items()}

    def column(self, key: str) -> str:
        return self.columns.get(key, "")

    def values(self, row: list[str]) -> dict[str, str]:
        return {k: (row[i] if i < len(row) else "") for k, i in self.index.items()}


def _file_problems(filename: str, table: _Table) -> list[HotlineProblem]:
    """What makes the whole file unusable before any row is looked at."""
    if not table.rows:
        return [HotlineProblem(_("the file is empty"), file=filename)]
    header_row = table.rows[0][0]
    if table.missing:
        return [HotlineProblem(_("missing column %(names)s")
                               % {"names": "/".join(COLUMNS[key])},
                               row=header_row, field=key, column=COLUMNS[key][0],
                               file=filename) for key in table.missing]
    if len(table.rows) - 1 > MAX_ROWS:
        return [HotlineProblem(_("more than %(limit)d work orders; split the file into files "
                                 "of at most %(limit)d rows") % {"limit": MAX_ROWS},
                               file=filename)]
    return []


def _earlier_import(order_no: str) -> Case | None:
    """The case an earlier import filed for this work order, by anyone."""
    return (Case.objects.filter(source=Source.HOTLINE, external_id=order_no)
            .only("code", "reporter_id").order_by("id").first())


def _file_row(actor, table: _Table, number: int, row: list[str], report: HotlineReport,
              filename: str) -> None:
    """File one work order, or add what is wrong with it to the report."""
    values = table.values(row)
    order = values.get("order_no", "")
    blank = [k for k in REQUIRED if not values.get(k)]
    if blank:
        report.problems.extend(
            HotlineProblem(_("%(column)s is empty") % {"column": table.column(k)}, row=number,
                           order_no=order, field=k, column=table.column(k), file=filename)
            for k in blank)
        return
    earlier = _earlier_import(order)
    if earlier is not None and earlier.reporter_id != actor.pk:
        # Intake's idempotency keys are per account; an order number names one work order
        # whoever imports it, so a colleague's import of the same export files nothing again.
        report.unchanged += 1
        return
    try:
        case, created = submit_case(actor, _case_input(values, table.columns))
    except CaseError as exc:
        key = INTAKE_FIELDS.get(exc.field, exc.field)
        message = exc.message
        if isinstance(exc, CaseConflict) and earlier is not None:
            message = _("order %(order)s was imported before as case %(code)s, with different "
                        "content; an import never changes a filed case: update that case, or "
                        "remove the row") % {"order": order, "code": earlier.code}
        report.problems.append(HotlineProblem(message, row=number, order_no=order,
                                              field=key, column=table.column(key),
                                              file=filename))
        return
    report.created += int(created)
    report.unchanged += int(not created)
    if created:
        report.codes.append(case.code)


def import_hotline(actor, filename: str, content: bytes, *, dry_run: bool = False,
                   token=None) -> HotlineReport:
    """File every work order in the file as a case, or none of them."""
    require_permission(actor, "cases.import", token)
    report = HotlineReport(dry_run=dry_run)
    try:
        table = _Table(filename, content)
    except UnreadableFile as exc:
        report.problems.append(HotlineProblem(str(exc), file=filename))
        return report
    report.problems.extend(_file_problems(filename, table))
    if report.problems:
        return report
    try:
        with transaction.atomic():
            for number, row in table.rows[1:]:
                report.rows += 1
                _file_row(actor, table, number, row, report, filename)
            if report.problems or dry_run:
                raise _Abort
    except _Abort:
        report.codes = []  # rolled back: those numbers name no case
        if report.problems:
            report.created = report.unchanged = 0
    return report
