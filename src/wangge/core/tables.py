"""Tables from files — 表格读取: the rows of an uploaded CSV or XLSX, streamed.

Departments hand over spreadsheets: XLSX from Excel or WPS, or CSV exported by some system,
in UTF-8 (often with a BOM) or in GB18030/GBK from a Windows machine. ``open_table`` reads
either without holding the file in memory — openpyxl's read-only mode for workbooks, the
``csv`` module over the decoded text for CSV — so an import of a million rows costs the
same memory as one of a thousand.

What every reader gets:

- ``header``: the cells of row 1, tidied (the header is always row 1; blank header cells at
  the right end are dropped); an empty row 1 or two columns with the same header are refused,
  since a mapping names columns by their header;
- ``rows()``: ``(row number, cells)`` for each non-blank row below the header, numbered as
  the spreadsheet shows them (the header is row 1; blank rows count but are not yielded),
  each row exactly as wide as the header;
- cells as text: workbook numbers that are whole come back without ``.0`` (a phone number
  typed into a numeric cell), dates as ``YYYY-MM-DD``.

Whatever makes a file unreadable raises ``UnreadableTable`` with a message in the reader's
words (an old ``.xls``, a PDF renamed ``.csv``, an empty file, no header).
"""

from __future__ import annotations

import codecs
import csv
import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # old .xls (and .doc) compound files
SNIFF_BYTES = 64 * 1024
DECODE_CHUNK = 1024 * 1024
CSV_ENCODINGS = ("utf-8-sig", "gb18030")  # tried in this order
# A CSV field may be long (an address, a note) but not unbounded.
csv.field_size_limit(1024 * 1024)


class UnreadableTable(ValueError):
    """The file cannot be read as a table; the message says why."""


@dataclass
class Table:
    """One opened file: its header and a generator of its data rows (see module doc)."""

    name: str
    kind: str  # "csv" | "xlsx"
    header: list[str]
    _rows: Iterator[tuple[int, list[str]]] = field(repr=False)
    encoding: str = ""

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        width = len(self.header)
        for number, cells in self._rows:
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            elif len(cells) > width:
                cells = cells[:width]
            if any(cells):
                yield number, cells


def file_kind(name: str, head: bytes) -> str:
    """"xlsx" or "csv", from the first bytes (a workbook renamed .csv is still a workbook);
    ``UnreadableTable`` for what is neither."""
    lower = name.lower()
    if head.startswith(OLE_MAGIC) or lower.endswith(".xls"):
        raise UnreadableTable(_("old-style .xls workbooks cannot be read; save the file as "
                                ".xlsx or CSV"))
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if lower.endswith(".xlsx"):
        raise UnreadableTable(_("not a readable XLSX workbook; save it again as .xlsx from "
                                "Excel or WPS, or export CSV"))
    if b"\x00" in head:
        raise UnreadableTable(_("this is not a CSV or XLSX file (it holds binary data)"))
    return "csv"


def detect_encoding(path: Path) -> str:
    """UTF-8 (BOM or not) when the whole file decodes as UTF-8, else GB18030 (a superset of
    GBK and GB2312, what Chinese Windows writes). Decoded in chunks: nothing is kept."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(DECODE_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return CSV_ENCODINGS[1]
    return CSV_ENCODINGS[0]


def cell_text(value: object) -> str:
    """A workbook cell as the text a person sees in it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def _header(first: tuple[int, list[str]] | None) -> list[str]:
    if first is None:
        raise UnreadableTable(_("the file is empty"))
    number, cells = first
    if number != 1 or not any(cells):
        raise UnreadableTable(_("row 1 is empty: the first row must name the columns"))
    header = [c.strip() for c in cells]
    while header and not header[-1]:
        header.pop()
    seen: dict[str, int] = {}
    for i, text in enumerate(header, start=1):
        if text and text in seen:
            raise UnreadableTable(
                _("columns %(a)d and %(b)d are both headed “%(name)s”; give each column its "
                  "own header") % {"a": seen[text], "b": i, "name": text[:40]})
        seen[text] = i
    return header


def _csv_rows(path: Path, encoding: str) -> Iterator[tuple[int, list[str]]]:
    with path.open("r", encoding=encoding, errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        try:
            for number, row in enumerate(reader, start=1):
                yield number, [cell.strip() for cell in row]
        except csv.Error as exc:
            raise UnreadableTable(_("row %(row)d cannot be read as CSV (%(error)s)")
                                  % {"row": reader.line_num, "error": exc}) from exc


def _xlsx_rows(workbook) -> Iterator[tuple[int, list[str]]]:
    sheet = workbook.active
    try:
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [cell_text(v) for v in row]
    except Exception as exc:  # a broken part inside the zip surfaces while reading rows
        raise UnreadableTable(
            _("the workbook cannot be read (%(error)s); save it again as .xlsx from Excel or "
              "WPS, or export CSV") % {"error": str(exc)[:120] or type(exc).__name__}) from exc


@contextmanager
def open_table(path: Path | str, name: str = "") -> Iterator[Table]:
    """Open ``path`` (``name``: the file's name as uploaded, for its suffix) as a ``Table``."""
    path = Path(path)
    name = name or path.name
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if not head.strip():
        raise UnreadableTable(_("the file is empty"))
    kind = file_kind(name, head)
    if kind == "xlsx":
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(path, read_only=True, data_only=True)
        # Whatever a broken workbook throws (bad zip, missing part, bad XML) means the same
        # to the person holding it: this file can't be read.
        except Exception as exc:
            raise UnreadableTable(
                _("not a readable XLSX workbook (%(error)s); save it again as .xlsx from Excel "
                  "or WPS, or export CSV") % {"error": str(exc)[:120] or type(exc).__name__}
            ) from exc
        try:
            rows = _xlsx_rows(workbook)
            header = _header(next(rows, None))
            yield Table(name, kind, header, rows)
        finally:
            workbook.close()
        return
    encoding = detect_encoding(path)
    rows = _csv_rows(path, encoding)
    try:
        header = _header(next(rows, None))
        yield Table(name, kind, header, rows, encoding=encoding)
    finally:
        rows.close()


def read_header(path: Path | str, name: str = "") -> list[str]:
    """Just the header (row 1) of a table file."""
    with open_table(path, name) as table:
        return list(table.header)


def estimate_rows(path: Path | str, name: str = "") -> int:
    """About how many data rows the file holds, cheaply (line count for CSV, the sheet's
    declared size for XLSX): enough to decide whether an import runs in the background."""
    path = Path(path)
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if file_kind(name or path.name, head) == "xlsx":
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(path, read_only=True)
            try:
                return max(0, (workbook.active.max_row or 1) - 1)
            finally:
                workbook.close()
        except Exception:
            return 0
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(DECODE_CHUNK):
            lines += chunk.count(b"\n")
    return max(0, lines - 1)
