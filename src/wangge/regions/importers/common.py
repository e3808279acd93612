"""What both importers share: the report they return and the level-by-level bulk writer.

Imports are validated completely before anything is written (all-or-nothing), so the report
either lists problems and counts nothing, or counts what was (or, in a dry run, would be)
created, updated and left unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from django.utils import timezone

from wangge.regions.models import Region

# Rows per INSERT/UPDATE statement: small enough for SQLite's parameter limit with every
# Region column, large enough that 44k nodes take a few dozen round trips.
BATCH_SIZE = 1000

# A query's ``IN (...)`` list is cut into chunks of this size (SQLite caps bound parameters).
LOOKUP_CHUNK = 900

# Past this many problems the input is plainly the wrong file; more lines would only bury
# the first ones.
MAX_PROBLEMS = 1000

T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    """One reason an import was refused: where (file row or feature), which code, what."""

    where: str
    code: str
    message: str

    def __str__(self) -> str:
        code = f", code {self.code}" if self.code else ""
        return f"{self.where}{code}: {self.message}"


@dataclass
class ImportReport:
    """The outcome of one import. ``errors`` non-empty means nothing was written."""

    origin: str  # where the data came from: a folder, a file, an upload
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    errors: list[Problem] = field(default_factory=list)
    truncated: bool = False
    created_codes: list[str] = field(default_factory=list)
    updated_codes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def add_error(self, where: str, code: str, message: str) -> None:
        if len(self.errors) >= MAX_PROBLEMS:
            self.truncated = True
            return
        self.errors.append(Problem(where, code, message))

    def error_lines(self) -> list[str]:
        lines = [str(p) for p in self.errors]
        if self.truncated:
            lines.append(f"... stopped after {MAX_PROBLEMS} problems; fix these and run again")
        return lines

    def counts(self) -> dict[str, int]:
        return {"total": self.total, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged}

    def summary(self, noun: str = "nodes") -> str:
        """One line for a person: what changed, or that nothing did."""
        if self.errors:
            return (f"{len(self.errors):,}{'+' if self.truncated else ''} problems found; "
                    "nothing was written")
        if not self.changed:
            return f"no changes: {self.total:,} {noun} already up to date"
        verb = "would create" if self.dry_run else "created"
        prefix = "dry run, nothing written: " if self.dry_run else ""
        return (f"{prefix}{verb} {self.created:,}, "
                f"{'would update' if self.dry_run else 'updated'} {self.updated:,}, "
                f"unchanged {self.unchanged:,} ({self.total:,} {noun})")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def regions_by_code(codes: Iterable[str]) -> dict[str, Region]:
    """Existing nodes for ``codes``, fetched in chunks, keyed by code."""
    wanted = sorted(set(codes))
    found: dict[str, Region] = {}
    for part in chunks(wanted, LOOKUP_CHUNK):
        for region in Region.objects.filter(code__in=part):
            found[region.code] = region
    return found


def insert_regions(nodes: list[Region]) -> None:
    """Bulk-insert nodes of one level and make sure each has its primary key afterwards.

    The caller inserts level by level so the next level's parent foreign keys can be set from
    these keys. PostgreSQL and SQLite ≥ 3.35 return the keys from the INSERT; the reload is
    for anything that doesn't.
    """
    if not nodes:
        return
    Region.objects.bulk_create(nodes, batch_size=BATCH_SIZE)
    missing = [n for n in nodes if n.pk is None]
    if missing:
        ids = {}
        for part in chunks([n.code for n in missing], LOOKUP_CHUNK):
            ids.update(Region.objects.filter(code__in=part).values_list("code", "pk"))
        for node in missing:
            node.pk = ids[node.code]


def update_regions(nodes: list[Region], fields: list[str]) -> None:
    """Bulk-update ``fields`` (plus ``updated_at``, which bulk_update doesn't stamp)."""
    if not nodes:
        return
    now = timezone.now()
    for node in nodes:
        node.updated_at = now
    Region.objects.bulk_update(nodes, [*fields, "updated_at"], batch_size=BATCH_SIZE)
