"""Import the national statistical division codes (统计用区划代码), province to township.

The input is a folder of four CSV files, one per level (see ``DIVISION_FILES``), in the layout of
the open "Administrative-divisions-of-China" dataset. Every row is checked before anything is
written; then new codes are inserted level by level with ``bulk_create`` and renamed ones
updated with ``bulk_update``, all in one transaction, so the 44,703 nodes of the full set load
in seconds and a second run finds nothing to do.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.db.models.functions import Length

from wangge.audit.services import record
from wangge.regions.models import Level, Region

from .common import ImportReport, insert_regions, update_regions

NAME_MAX = Region._meta.get_field("name").max_length
SOURCE_MAX = Region._meta.get_field("source").max_length
DEFAULT_SOURCE = "stats-division-codes"


@dataclass(frozen=True)
class DivisionFile:
    """One level's file: its name, the level it fills, its code length and parent column."""

    filename: str
    level: Level
    code_length: int
    parent_column: str | None

    @property
    def columns(self) -> tuple[str, ...]:
        return ("code", "name", self.parent_column) if self.parent_column else ("code", "name")


# Read in this order: each file's parents are in the file before it.
DIVISION_FILES: tuple[DivisionFile, ...] = (
    DivisionFile("provinces.csv", Level.PROVINCE, 2, None),
    DivisionFile("cities.csv", Level.CITY, 4, "provinceCode"),
    DivisionFile("areas.csv", Level.COUNTY, 6, "cityCode"),
    DivisionFile("streets.csv", Level.TOWNSHIP, 9, "areaCode"),
)
MAX_CODE_LENGTH = max(f.code_length for f in DIVISION_FILES)


@dataclass(frozen=True)
class DivisionRow:
    """One data row. ``row`` counts as a spreadsheet does: the header is row 1."""

    spec: DivisionFile
    row: int
    code: str
    name: str
    parent_code: str | None

    @property
    def where(self) -> str:
        return f"{self.spec.filename} row {self.row}"


@dataclass
class Seen:
    """Rows accepted so far, by code, for the duplicate and parent checks."""

    rows: dict[str, DivisionRow]


RowCheck = Callable[[DivisionRow, Seen], str | None]


def check_code_format(row: DivisionRow, seen: Seen) -> str | None:
    want = row.spec.code_length
    if not (row.code.isascii() and row.code.isdigit()) or len(row.code) != want:
        return f"code {row.code!r} must be {want} digits"
    return None


def check_name(row: DivisionRow, seen: Seen) -> str | None:
    if not row.name:
        return "name is empty"
    if len(row.name) > NAME_MAX:
        return f"name is longer than {NAME_MAX} characters"
    return None


def check_duplicate(row: DivisionRow, seen: Seen) -> str | None:
    first = seen.rows.get(row.code)
    if first is not None:
        return f"duplicate code: already given in {first.where}"
    return None


def check_parent_known(row: DivisionRow, seen: Seen) -> str | None:
    if row.spec.parent_column is None:
        return None
    parent = seen.rows.get(row.parent_code or "")
    if parent is None or parent.spec.level != row.spec.level - 1:
        previous = DIVISION_FILES[row.spec.level - 2].filename
        return (f"unknown parent code {row.parent_code!r} "
                f"(column {row.spec.parent_column}; not found in {previous})")
    return None


def check_under_parent(row: DivisionRow, seen: Seen) -> str | None:
    if row.parent_code and not row.code.startswith(row.parent_code):
        return f"code is not under its parent's code {row.parent_code}"
    return None


# Checked in this order; a row reports only its first problem, so one typo gives one line.
ROW_CHECKS: tuple[RowCheck, ...] = (
    check_code_format,
    check_duplicate,
    check_name,
    check_parent_known,
    check_under_parent,
)


def read_division_file(directory: Path, spec: DivisionFile,
                       report: ImportReport) -> list[DivisionRow] | None:
    """The file's rows, or None (with the problem reported) if it is missing or lacks columns.

    ``utf-8-sig`` accepts the byte-order mark spreadsheet programs put in front of CSV files.
    """
    path = directory / spec.filename
    if not path.is_file():
        report.add_error(spec.filename, "", f"file not found in {directory}")
        return None
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in spec.columns if c not in header]
        if missing:
            report.add_error(spec.filename, "",
                             f"missing column {', '.join(missing)} "
                             f"(columns found: {', '.join(header) or 'none'})")
            return None
        reader.fieldnames = header
        rows = []
        for number, raw in enumerate(reader, start=2):
            def value(column: str | None, raw=raw) -> str:
                return (raw.get(column) or "").strip() if column else ""

            rows.append(DivisionRow(spec, number, value("code"), value("name"),
                                    value(spec.parent_column) or None))
    return rows


def validate_rows(rows: list[DivisionRow], seen: Seen, report: ImportReport) -> None:
    """Run ``ROW_CHECKS`` on each row; rows with a well-formed new code become known parents.

    A row with a bad name still registers its code, so its children don't each report an
    unknown parent for what is one mistake.
    """
    for row in rows:
        for check in ROW_CHECKS:
            message = check(row, seen)
            if message:
                report.add_error(row.where, row.code, message)
                break
        if check_code_format(row, seen) is None and row.code not in seen.rows:
            seen.rows[row.code] = row


def existing_divisions() -> dict[str, tuple[int, str, int, str | None, str]]:
    """Nodes whose code could be a division code: code → (pk, name, level, parent code, path).

    One query for the whole set, so comparing 44k rows costs no per-row lookups.
    """
    rows = (Region.objects.annotate(code_length=Length("code"))
            .filter(code_length__lte=MAX_CODE_LENGTH)
            .values_list("code", "pk", "name", "level", "parent__code", "path"))
    return {code: (pk, name, level, parent, path) for code, pk, name, level, parent, path in rows}


def validate_against_database(rows: list[DivisionRow], existing: dict,
                              report: ImportReport) -> None:
    """A code already in the tree must sit at the same level under the same parent.

    Moving a node would change the paths of its whole subtree; that is not an import's job.
    """
    for row in rows:
        found = existing.get(row.code)
        if found is None:
            continue
        _pk, _name, level, parent_code, _path = found
        if level != row.spec.level:
            report.add_error(row.where, row.code,
                             f"already in the tree at level {level}, not {int(row.spec.level)}")
        elif parent_code != row.parent_code:
            report.add_error(row.where, row.code,
                             f"already in the tree under {parent_code}, not {row.parent_code}")


def read_and_validate(directory: Path, report: ImportReport) -> list[DivisionRow]:
    """All rows in level order, with every problem added to ``report``."""
    seen = Seen(rows={})
    everything: list[DivisionRow] = []
    for spec in DIVISION_FILES:
        rows = read_division_file(directory, spec, report)
        if rows is None:
            continue
        validate_rows(rows, seen, report)
        everything.extend(rows)
    return everything


def write_divisions(rows: list[DivisionRow], existing: dict, report: ImportReport,
                    source: str) -> None:
    """Insert new codes level by level (parents first) and rename changed ones."""
    ids = {code: found[0] for code, found in existing.items()}
    paths = {code: found[4] for code, found in existing.items()}
    renamed: list[Region] = []
    for spec in DIVISION_FILES:
        new_nodes = []
        for row in (r for r in rows if r.spec is spec):
            found = existing.get(row.code)
            if found is None:
                parent_path = paths[row.parent_code] if row.parent_code else None
                new_nodes.append(Region(
                    code=row.code, name=row.name, level=spec.level,
                    parent_id=ids[row.parent_code] if row.parent_code else None,
                    path=Region.path_for(parent_path, row.code), source=source))
            elif found[1] != row.name:
                renamed.append(Region(pk=found[0], name=row.name))
                report.updated_codes.append(row.code)
            else:
                report.unchanged += 1
        if not report.dry_run:
            insert_regions(new_nodes)
        for node in new_nodes:
            ids[node.code] = node.pk
            paths[node.code] = node.path
            report.created_codes.append(node.code)
        report.created += len(new_nodes)
    report.updated = len(renamed)
    if not report.dry_run:
        update_regions(renamed, ["name"])


def import_divisions(directory: str | Path, *, source: str = DEFAULT_SOURCE,
                     dry_run: bool = False) -> ImportReport:
    """Load or refresh provinces, cities, counties and townships from ``directory``.

    All-or-nothing: if any file or row is wrong, the report lists every problem (up to a cap)
    and the tree is untouched. A run that changes nothing writes nothing, audit included.
    """
    if len(source) > SOURCE_MAX:
        raise ValueError(f"source tag is longer than {SOURCE_MAX} characters: {source!r}")
    directory = Path(directory)
    report = ImportReport(origin=str(directory), dry_run=dry_run)
    with transaction.atomic():
        rows = read_and_validate(directory, report)
        report.total = len(rows)
        if report.errors:
            return report
        existing = existing_divisions()
        validate_against_database(rows, existing, report)
        if report.errors:
            return report
        write_divisions(rows, existing, report, source)
        if report.changed and not dry_run:
            record("regions.import_divisions", object_type="regions.region",
                   detail={**report.counts(), "source_dir": str(directory.resolve()),
                           "source": source})
    return report
