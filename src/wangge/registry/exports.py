"""Registry exports — 查询结果导出: a search's result as CSV or XLSX, masked, capped, audited.

The rows are exactly what the search page lists (``service.search`` then ``service.rows``),
so an export never holds more than the reader may see, and personal values only masked.
At most ``EXPORT_CAP`` rows (the page says so); each download appends ``registry.export``
to the audit trail with the search (a typed personal value kept masked), the format and
the row count — never the values.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from wangge.audit.services import record

from . import service

EXPORT_CAP = 10_000
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")
# A cell starting with one of these is a formula to a spreadsheet program: write it as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
GRID = [("grid", _("grid code")), ("grid_name", _("grid"))]

# The columns of each kind's export, as (row key, header).
COLUMNS: dict[str, list[tuple[str, Promise]]] = {
    "persons": [("id", _("record")), ("name", _("full name")), ("id_number", _("ID number")),
                ("phone", _("phone")), ("address", _("current address")), ("sex_label", _("sex")),
                ("birth_year", _("year of birth")),
                ("residence_type_label", _("residence type")), *GRID, ("tags", _("tags"))],
    "houses": [("id", _("record")), ("building", _("building")),
               ("label", _("unit and room")), ("usage_label", _("use")),
               ("area_m2", _("floor area (m²)")), ("tenant_count", _("tenants")), *GRID],
    "buildings": [("id", _("record")), ("name", _("name")), ("address", _("address")),
                  ("floors", _("floors")), ("houses", _("houses")), *GRID],
    "places": [("id", _("record")), ("name", _("name")), ("kind_label", _("kind")),
               ("address", _("address")), ("organisation", _("organisation")),
               ("lon", _("longitude (WGS-84)")), ("lat", _("latitude (WGS-84)")), *GRID],
    "organisations": [("id", _("record")), ("name", _("name")), ("kind_label", _("kind")),
                      ("credit_code", _("unified social credit code")),
                      ("address", _("address")), ("employees", _("employees")), *GRID],
}


@dataclass(frozen=True)
class Export:
    content: bytes
    content_type: str
    filename: str
    rows: int
    total: int

    @property
    def capped(self) -> bool:
        return self.total > self.rows


def _cell(key: str, value) -> str:
    if value is None:
        return ""
    if key == "tags":
        return "、".join(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def table(kind: str, rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Headers and cells of ``rows`` (``service.rows``) as the export writes them."""
    columns = COLUMNS[kind]
    return ([str(label) for _key, label in columns],
            [[_cell(key, row.get(key)) for key, _label in columns] for row in rows])


def _csv(headers: list[str], cells: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(cells)
    # With a byte-order mark, Excel opens UTF-8 Chinese text correctly.
    return out.getvalue().encode("utf-8-sig")


def _xlsx(headers: list[str], cells: list[list[str]], title: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append(headers)
    for row in cells:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export(user, search: service.Search, fmt: str, token=None) -> Export:
    """The result of ``search`` for ``user`` as ``fmt`` (csv | xlsx), audited.

    Raises what ``service.search`` raises (403, a ``ValidationError`` naming the field) and
    ``ValueError`` for an unknown format."""
    if fmt not in FORMATS:
        raise ValueError(f"format is one of {', '.join(FORMATS)}")
    qs = service.search(user, search, token)
    total = qs.count()
    rows = service.rows(user, search.kind, qs[:EXPORT_CAP])
    headers, cells = table(search.kind, rows)
    if fmt == "csv":
        content, content_type = _csv(headers, cells), CSV_TYPE
    else:
        content, content_type = _xlsx(headers, cells, search.kind), XLSX_TYPE
    with transaction.atomic():
        record("registry.export", object_type=f"registry.{search.kind}", detail={
            "format": fmt, "query": search.describe(), "rows": len(rows), "total": total})
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return Export(content, content_type, f"registry-{search.kind}-{stamp}.{fmt}",
                  len(rows), total)
