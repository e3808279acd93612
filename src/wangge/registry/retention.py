"""Retention — 保存期限: source rows the source has not confirmed for too long go.

A dataset with ``retention_days`` keeps a row while its ``observed_at`` (when the source last
listed it) is within that many days; an older row is deleted. A person left with no row at
all is then anonymised (``erasure.anonymise_person``: nothing identifying is kept); a person
who still has rows gets their values chosen again from what remains (survivorship), so a
value that only the deleted row gave disappears with it.

Work is done in batches of rows, each batch one transaction with its audit record
(``registry.retention``: dataset, cutoff, counts — never values). Several workers may run at
once: a batch locks its rows (``SKIP LOCKED`` on PostgreSQL; SQLite writes one transaction at
a time), and a row already deleted is simply not found again, so a rerun does nothing more.
When nothing is due a pass costs one small query per dataset with a retention.

``due_for_retention(dataset)`` is the count a dataset page shows; ``apply_retention`` is the
job (``registry.retention``, daily) and the command ``wangge registry_retention [--dry-run]``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from wangge.audit.services import record
from wangge.catalog.models import Dataset

from .erasure import anonymise_person
from .models import Person, PersonStatus, SourceRecord
from .survivorship import refresh_person

BATCH_SIZE = 500


def cutoff_for(dataset: Dataset, now: datetime.datetime | None = None
               ) -> datetime.datetime | None:
    """Rows observed before this moment are due; None when the dataset keeps its rows."""
    if dataset.retention_days is None:
        return None
    return (now or timezone.now()) - datetime.timedelta(days=dataset.retention_days)


def due_rows(dataset: Dataset, now: datetime.datetime | None = None
             ) -> QuerySet[SourceRecord]:
    cutoff = cutoff_for(dataset, now)
    if cutoff is None:
        return SourceRecord.objects.none()
    return SourceRecord.objects.filter(dataset=dataset, observed_at__lt=cutoff)


def due_for_retention(dataset: Dataset, now: datetime.datetime | None = None) -> int:
    """How many of ``dataset``'s rows the next retention pass deletes."""
    return due_rows(dataset, now).count()


@dataclass
class DatasetPass:
    """What one pass did (or, dry, would do) to one dataset."""

    code: str
    retention_days: int
    cutoff: datetime.datetime
    rows: int = 0
    persons_anonymised: int = 0
    persons_updated: int = 0


@dataclass
class RetentionReport:
    dry_run: bool
    datasets: list[DatasetPass] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(d.rows for d in self.datasets)

    @property
    def persons_anonymised(self) -> int:
        return sum(d.persons_anonymised for d in self.datasets)


def retained_datasets() -> QuerySet[Dataset]:
    return Dataset.objects.filter(retention_days__isnull=False).order_by("code")


def apply_retention(*, dry_run: bool = False, batch: int = BATCH_SIZE,
                    now: datetime.datetime | None = None) -> RetentionReport:
    """Delete the due rows of every dataset with a retention (or count them, ``dry_run``)."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    now = now or timezone.now()
    report = RetentionReport(dry_run=dry_run)
    due_so_far = Q(pk__in=[])
    counted: set[int] = set()
    for dataset in retained_datasets():
        item = DatasetPass(dataset.code, dataset.retention_days, cutoff_for(dataset, now))
        if dry_run:
            due_so_far |= Q(dataset=dataset, observed_at__lt=item.cutoff)
            _count(dataset, item, due_so_far, counted)
        else:
            while _one_batch(dataset, item, batch):
                pass
        if item.rows or dry_run:
            report.datasets.append(item)
    return report


def _count(dataset: Dataset, item: DatasetPass, due_so_far: Q, counted: set[int]) -> None:
    """Dry run: what deleting this dataset's due rows (after the earlier datasets') does."""
    due = SourceRecord.objects.filter(dataset=dataset, observed_at__lt=item.cutoff)
    item.rows = due.count()
    if not item.rows:
        return
    touched = set(due.exclude(person=None).values_list("person_id", flat=True))
    keeping = set(SourceRecord.objects.filter(person_id__in=touched).exclude(due_so_far)
                  .values_list("person_id", flat=True))
    orphans = set(Person.objects.filter(pk__in=touched - keeping,
                                        status=PersonStatus.ACTIVE)
                  .values_list("pk", flat=True)) - counted
    counted |= orphans
    item.persons_anonymised = len(orphans)
    item.persons_updated = len(touched & keeping)


def _one_batch(dataset: Dataset, item: DatasetPass, batch: int) -> int:
    """Delete one batch of due rows and settle their persons; returns the rows it took
    (0: nothing left that another worker is not already doing)."""
    with transaction.atomic():
        ids = list(SourceRecord.objects.select_for_update(skip_locked=True)
                   .filter(dataset=dataset, observed_at__lt=item.cutoff)
                   .order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return 0
        person_ids = set(SourceRecord.objects.filter(pk__in=ids).exclude(person=None)
                         .values_list("person_id", flat=True))
        deleted = SourceRecord.objects.filter(pk__in=ids).delete()[1].get(
            SourceRecord._meta.label, 0)
        anonymised = updated = 0
        for person in Person.objects.select_for_update().filter(pk__in=person_ids).order_by(
                "pk"):
            if SourceRecord.objects.filter(person=person).exists():
                refresh_person(person)
                updated += 1
            elif person.status != PersonStatus.ANONYMISED:
                anonymise_person(person)
                anonymised += 1
        record("registry.retention", dataset, detail={
            "dataset": dataset.code, "retention_days": dataset.retention_days,
            "cutoff": item.cutoff.isoformat(), "rows": deleted,
            "persons_anonymised": anonymised, "persons_updated": updated})
    item.rows += deleted
    item.persons_anonymised += anonymised
    item.persons_updated += updated
    return len(ids)


def run_retention() -> int:
    """The background job: rows deleted this pass."""
    return apply_retention().rows
