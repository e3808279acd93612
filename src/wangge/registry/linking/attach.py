"""Attach new rows to persons at once — 按身份证号即时归并: no row waits for the nightly run.

A freshly imported row has no person. ``attach_unlinked`` gives it one straight away: the
person that already holds a row with the same ID number (its blind index), else a new person
in the row's grid; survivorship then recomputes every person it touched. The probabilistic
run (``runs.run_linkage``) later corrects what an ID number alone cannot see (rows without a
number, typos).

Two workers may run it at once and must not make two persons of one ID number. Each batch is
one transaction: rows are claimed with ``FOR UPDATE SKIP LOCKED`` (two workers take disjoint
rows), and on PostgreSQL each ID number is serialised by a transaction-level advisory lock,
taken for the whole batch in one global order (no deadlock), before looking for its person —
a worker waiting on the lock then sees the person the other one committed. SQLite serialises
write transactions anyway (they begin IMMEDIATE).
"""

from __future__ import annotations

import hashlib

from django.db import connection, transaction

from wangge.audit.services import record
from wangge.catalog.models import Entity

from ..models import PersonStatus, SourceRecord
from . import persons

BATCH = 500
AUDIT_ACTION = "registry.attach"


def _unlinked():
    return SourceRecord.objects.filter(person__isnull=True, dataset__entity=Entity.PERSON)


def _claim(batch: int, skip: set[int]) -> list[SourceRecord]:
    qs = _unlinked().exclude(pk__in=skip).order_by("pk")
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return list(qs.only("pk", "region_id", "id_number_index")[:batch])


def _lock_key(index: str) -> int:
    """A signed 64-bit advisory lock key for an ID number's blind index."""
    return int.from_bytes(hashlib.sha256(f"registry.attach:{index}".encode()).digest()[:8],
                          "big", signed=True)


def _lock_ids(indexes: set[str]) -> None:
    if connection.vendor != "postgresql" or not indexes:
        return
    with connection.cursor() as cursor:
        for key in sorted({_lock_key(i) for i in indexes}):
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _holders(indexes: set[str]) -> dict[str, int]:
    """ID index → the (lowest-numbered) active person holding a row with it."""
    found: dict[str, int] = {}
    rows = (SourceRecord.objects.filter(id_number_index__in=indexes, person__isnull=False,
                                        person__status=PersonStatus.ACTIVE)
            .order_by("person_id").values_list("id_number_index", "person_id"))
    for index, person_id in rows:
        found.setdefault(index, person_id)
    return found


def _one_batch(batch: int, skip: set[int]) -> tuple[int, int, int]:
    """(claimed, attached to an existing person, new persons) for one transaction."""
    with transaction.atomic():
        claimed = _claim(batch, skip)
        if not claimed:
            return 0, 0, 0
        skip.update(r.pk for r in claimed)
        indexes = {r.id_number_index for r in claimed if r.id_number_index}
        _lock_ids(indexes)
        # Re-read in a fresh statement: a row another path linked meanwhile drops out, and
        # persons committed by a worker we waited for are seen.
        rows = list(_unlinked().filter(pk__in=[r.pk for r in claimed]).order_by("pk")
                    .only("pk", "region_id", "id_number_index"))
        holder = _holders(indexes) if indexes else {}
        attached = created = 0
        touched: set[int] = set()
        for row in rows:
            person_id = holder.get(row.id_number_index) if row.id_number_index else None
            if person_id is None:
                person_id = persons.new_person(row.region_id).pk
                created += 1
                if row.id_number_index:
                    holder[row.id_number_index] = person_id
            else:
                attached += 1
            SourceRecord.objects.filter(pk=row.pk).update(person_id=person_id)
            touched.add(person_id)
        persons.refresh(touched)
        if rows:
            record(AUDIT_ACTION, object_type="registry.sourcerecord", object_id="batch",
                   detail={"rows": len(rows), "attached": attached, "new_persons": created})
        return len(claimed), attached, created


def attach_unlinked(batch: int = BATCH) -> int:
    """Give every row without a person one (see the module docstring); returns how many
    rows this call linked."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    skip: set[int] = set()
    total = 0
    while True:
        claimed, attached, created = _one_batch(batch, skip)
        total += attached + created
        if claimed < batch:
            return total
