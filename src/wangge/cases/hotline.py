"""12345 hotline work-order import — 热线工单导入 (CSV or XLSX).

Each row becomes a case through the ordinary intake (locate, route, timeline, audit). The
hotline's order number is the idempotency key, so importing the same file twice files
nothing new. All rows are filed in one transaction: one bad row and nothing is written, and
the report names every bad row and field.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.db import transaction
from openpyxl import load_workbook

from wangge.accounts.permissions import require_permission

from .models import Source
from .services import CaseError, CaseInput, submit_case

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


class _Abort(Exception):
    """Raised inside the transaction so that a file with any bad row writes nothing."""


@dataclass
class HotlineReport:
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def read_table(filename: str, content: bytes) -> list[list[str]]:
    """The file's cells as text rows (header first), from CSV (UTF-8 or GBK) or XLSX."""
    if filename.lower().endswith(".xlsx"):
        sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        return [["" if v is None else str(v).strip() for v in row]
                for row in sheet.iter_rows(values_only=True)]
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise ValueError("the file is neither UTF-8 nor GBK text")
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]


def _header_map(header: list[str]) -> tuple[dict[str, int], list[str]]:
    index, missing = {}, []
    for key, names in COLUMNS.items():
        found = next((i for i, h in enumerate(header) if h in names), None)
        if found is not None:
            index[key] = found
        elif key in REQUIRED:
            missing.append(f"{key} ({'/'.join(names)})")
    return index, missing


def _case_input(values: dict[str, str]) -> CaseInput:
    def number(key: str) -> float | None:
        raw = values.get(key, "")
        if not raw:
            return None
        try:
            return float(raw)
        except ValueError:
            raise CaseError(f"{key}: {raw!r} is not a number", status=422, field=key) from None

    lon, lat = number("lon"), number("lat")
    return CaseInput(
        category=values["category"], title=values["title"],
        description=values.get("description", ""), source=Source.HOTLINE,
        urgency=values.get("urgency") or "normal", lon=lon, lat=lat,
        crs=(values.get("crs") or "wgs84") if lon is not None else None,
        address=values.get("address", ""), contact_phone=values.get("phone", ""),
        external_id=values["order_no"], idempotency_key=f"hotline-{values['order_no']}",
    )


def import_hotline(actor, filename: str, content: bytes, *, dry_run: bool = False,
                   token=None) -> HotlineReport:
    """File every work order in the file as a case, or none of them."""
    require_permission(actor, "cases.import", token)
    report = HotlineReport(dry_run=dry_run)
    try:
        table = [row for row in read_table(filename, content) if any(row)]
    except Exception as exc:  # a broken workbook or text file: say so, write nothing
        report.errors.append(f"{filename}: cannot be read ({exc})")
        return report
    if not table:
        report.errors.append(f"{filename}: the file is empty")
        return report
    index, missing = _header_map(table[0])
    if missing:
        report.errors.append(f"row 1: missing column(s) {', '.join(missing)}")
        return report
    if len(table) - 1 > MAX_ROWS:
        report.errors.append(f"{filename}: {len(table) - 1} rows; at most {MAX_ROWS} per file")
        return report
    try:
        with transaction.atomic():
            for number, row in enumerate(table[1:], start=2):
                values = {k: (row[i] if i < len(row) else "") for k, i in index.items()}
                report.rows += 1
                blank = [k for k in REQUIRED if not values.get(k)]
                if blank:
                    report.errors.append(f"row {number}: empty {', '.join(blank)}")
                    continue
                try:
                    _case, created = submit_case(actor, _case_input(values))
                except CaseError as exc:
                    report.errors.append(f"row {number} (order {values['order_no']}): {exc}")
                    continue
                report.created += int(created)
                report.unchanged += int(not created)
            if report.errors or dry_run:
                raise _Abort
    except _Abort:
        if report.errors:
            report.created = report.unchanged = 0
    return report
