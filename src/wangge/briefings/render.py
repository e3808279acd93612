"""Briefing sections as tables a person reads — 呈现: labels in the reader's language and each
cell's format, shared by the printable page and the XLSX so both say the same thing."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from .sections import DAYS, INT, LABEL, PCT, ROW, SECTIONS_BY_KEY, TEXT, Section
from .service import ReaderSection


@dataclass(frozen=True)
class Cell:
    value: object  # the number or text as stored (a share is a fraction: 0.85)
    fmt: str  # INT, PCT, DAYS or TEXT
    signed: bool = False  # a change: shown with its sign (a share's in percentage points)

    @property
    def text(self) -> str:
        v = self.value
        if v is None or v == "":
            return "—"
        if self.signed and v == 0:
            return "0"
        if self.fmt == PCT:
            if self.signed:
                return _("%(n)s pp") % {"n": f"{v * 100:+.1f}"}
            return f"{v * 100:.1f}%"
        if self.fmt == DAYS:
            return f"{v:.1f}"
        if self.fmt == INT:
            return f"{v:+d}" if self.signed else f"{v:,d}"
        return str(v)

    @property
    def numeric(self) -> bool:
        return self.fmt in (INT, PCT, DAYS)


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    note: str
    headers: list[str]
    rows: list[list[Cell]]
    chart: dict | None  # {"categories": [...], "series": [{"name", "data"}]} or None


def _cell(section: Section, column, row: dict) -> Cell:
    value = row.get(column.key)
    fmt = column.fmt
    if fmt == ROW:
        fmt = row.get("fmt", INT)
    if fmt == LABEL:
        label = (column.labels or {}).get(value)
        return Cell(str(label) if label is not None else value, TEXT)
    return Cell(value, fmt, signed=column.key == "change")


def _chart(section: Section, rows: list[dict]) -> dict | None:
    if section.chart is None:
        return None
    charted = section.chart.rows(rows)
    if not charted:
        return None
    by_key = {c.key: c for c in section.columns}
    category = by_key[section.chart.category]
    return {"categories": [_cell(section, category, r).text for r in charted],
            "series": [{"name": str(by_key[k].label), "data": [r.get(k) for r in charted]}
                       for k in section.chart.series]}


def tables(sections: list[ReaderSection]) -> list[Table]:
    out = []
    for part in sections:
        section = SECTIONS_BY_KEY[part.key]
        out.append(Table(
            key=section.key, title=str(section.title), note=str(section.note or ""),
            headers=[str(c.label) for c in section.columns],
            rows=[[_cell(section, c, r) for c in section.columns] for r in part.rows],
            chart=_chart(section, part.rows)))
    return out


__all__ = ["DAYS", "INT", "PCT", "TEXT", "Cell", "Table", "tables"]
