"""A briefing as an XLSX workbook — 简报导出: a cover sheet, then one sheet per section with
its header row frozen, numbers as numbers (shares formatted as percentages) and the
section's chart as a native Excel chart (openpyxl.chart) beside the table."""

from __future__ import annotations

import io
import re

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .models import Briefing, Kind
from .render import DAYS, INT, PCT, Cell, Table, tables
from .service import ReaderSection

NUMBER_FORMATS = {(INT, False): "#,##0", (INT, True): "+#,##0;-#,##0;0",
                  (PCT, False): "0.0%", (PCT, True): "+0.0%;-0.0%;0.0%",
                  (DAYS, False): "0.0", (DAYS, True): "+0.0;-0.0;0.0"}
HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")
BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def _sheet_title(title: str, taken: set[str]) -> str:
    base = BAD_SHEET_CHARS.sub(" ", title)[:28].strip() or "sheet"
    name, n = base, 2
    while name in taken:
        name, n = f"{base[:25]} {n}", n + 1
    taken.add(name)
    return name


def _write_cell(ws, row: int, col: int, cell: Cell) -> None:
    target = ws.cell(row=row, column=col)
    if cell.value is None or cell.value == "":
        target.value = "—"
        target.alignment = Alignment(horizontal="center")
        return
    target.value = cell.value
    fmt = NUMBER_FORMATS.get((cell.fmt, cell.signed))
    if fmt:
        target.number_format = fmt


def _cover(ws, briefing: Briefing) -> None:
    content = briefing.content
    generated = parse_datetime(content["generated_at"])
    rows = [
        (_("node"), f"{content['node']['name']} ({content['node']['code']})"),
        (_("kind"), str(Kind(briefing.kind).label)),
        (_("period"), f"{content['period']['start']} – {content['period']['end']}"),
        (_("compared with"), f"{content['previous']['start']} – {content['previous']['end']}"),
        (_("generated at"), timezone.localtime(generated).strftime("%Y-%m-%d %H:%M")),
    ]
    ws.append([_("Briefing"), content["node"]["name"]])
    ws["A1"].font = ws["B1"].font = Font(bold=True, size=14)
    for label, value in rows:
        ws.append([label, value])
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 40


def _table_sheet(ws, table: Table) -> None:
    ws.append(table.headers)
    for col in range(1, len(table.headers) + 1):
        c = ws.cell(row=1, column=col)
        c.font, c.fill = Font(bold=True), HEADER_FILL
        ws.column_dimensions[get_column_letter(col)].width = max(
            10, min(40, 2 * len(table.headers[col - 1]) + 4))
    for r, cells in enumerate(table.rows, start=2):
        for c, cell in enumerate(cells, start=1):
            _write_cell(ws, r, c, cell)
    ws.freeze_panes = "A2"
    last = len(table.rows) + 1
    if table.note:
        ws.cell(row=last + 2, column=1, value=table.note).font = Font(italic=True)
    if table.chart:
        _chart(ws, table, first_col=len(table.headers) + 2)


def _chart(ws, table: Table, first_col: int) -> None:
    """The chart's data as a small block beside the table (the charted rows only), and a
    bar chart drawn from it."""
    chart_data = table.chart
    ws.cell(row=1, column=first_col, value=table.headers[0]).font = Font(bold=True)
    for i, series in enumerate(chart_data["series"], start=1):
        ws.cell(row=1, column=first_col + i, value=series["name"]).font = Font(bold=True)
    for r, category in enumerate(chart_data["categories"], start=2):
        ws.cell(row=r, column=first_col, value=category)
        for i, series in enumerate(chart_data["series"], start=1):
            ws.cell(row=r, column=first_col + i, value=series["data"][r - 2] or 0)
    n = len(chart_data["categories"])
    chart = BarChart()
    chart.type = "col"
    chart.title = table.title
    chart.height, chart.width = 8, 16
    data = Reference(ws, min_col=first_col + 1, max_col=first_col + len(chart_data["series"]),
                     min_row=1, max_row=n + 1)
    cats = Reference(ws, min_col=first_col, min_row=2, max_row=n + 1)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(cats)
    anchor_row = max(len(table.rows) + 5, n + 3)
    ws.add_chart(chart, f"A{anchor_row}")


def workbook_bytes(briefing: Briefing, sections: list[ReaderSection]) -> bytes:
    wb = Workbook()
    cover = wb.active
    taken: set[str] = set()
    cover.title = _sheet_title(_("Briefing"), taken)
    _cover(cover, briefing)
    for table in tables(sections):
        _table_sheet(wb.create_sheet(_sheet_title(table.title, taken)), table)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
