"""Survivorship — 数据择优: which source's value a person's master record shows.

For each standard field the value comes from the linked source rows holding one: the most
trusted dataset first (``Dataset.trust``), then the most recent (``observed_at``), then the
newest row. The choice is kept per field (``Person.chosen``: which row, which dataset, as of
when), and fields whose sources disagree are listed (``conflict_fields``) for the steward.
Tags follow the datasets: a person in a dataset that carries a tag has that tag.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db import transaction

from wangge.catalog.fields import get_field

from . import records
from .models import Person, PersonStatus, PersonTag, SourceRecord

# Person columns set straight from a standard field (the protected ones are sealed on set).
PROTECTED_COLUMNS = ("name", "id_number", "phone", "address")
PLAIN_COLUMNS = ("sex", "residence_type")


def _rank(record: SourceRecord) -> tuple:
    return (record.dataset.trust, record.observed_at, record.pk)


def choose(rows: list[tuple[SourceRecord, dict[str, str]]]) -> tuple[dict, dict, list[str]]:
    """(values, chosen, conflict fields) from (row, clear values) pairs."""
    best: dict[str, tuple[tuple, SourceRecord, str]] = {}
    seen: dict[str, set[str]] = {}
    for record, values in rows:
        for code, value in values.items():
            if not value:
                continue
            seen.setdefault(code, set()).add(value)
            rank = _rank(record)
            if code not in best or rank > best[code][0]:
                best[code] = (rank, record, value)
    values = {code: value for code, (_rank_, _rec, value) in best.items()}
    chosen = {code: {"record": rec.pk, "dataset": rec.dataset.code,
                     "observed_at": rec.observed_at.isoformat()}
              for code, (_rank_, rec, _value) in best.items()}
    conflicts = sorted(code for code, distinct in seen.items() if len(distinct) > 1)
    return values, chosen, conflicts


def _birth_year(values: dict[str, str]) -> int | None:
    if values.get("birth_date"):
        return datetime.date.fromisoformat(values["birth_date"]).year
    number = values.get("id_number", "")
    if len(number) == 18 and number[6:10].isdigit():
        return int(number[6:10])
    return None


def refresh_person(person: Person) -> Person:
    """Recompute ``person``'s values, grid and tags from its source rows (saved)."""
    sources = list(SourceRecord.objects.filter(person=person).select_related(
        "dataset", "region"))
    if person.status == PersonStatus.ANONYMISED:
        return person
    rows = [(r, records.open_values(r)) for r in sources]
    values, chosen, conflicts = choose(rows)
    for column in PROTECTED_COLUMNS:
        setattr(person, column, values.get(column, ""))
    for column in PLAIN_COLUMNS:
        setattr(person, column, values.get(column, ""))
    person.birth_year = _birth_year(values)
    person.values = {code: value for code, value in values.items()
                     if code not in PROTECTED_COLUMNS and not get_field(code).protected_kind}
    person.chosen = chosen
    person.conflict_fields = conflicts
    person.has_conflicts = bool(conflicts)
    placed = [r for r in sources if r.region_id]
    if placed:
        person.region = max(placed, key=_rank).region
    person.save()
    _sync_tags(person, sources)
    return person


def _sync_tags(person: Person, sources: list[SourceRecord]) -> None:
    from_datasets = {r.dataset.tag_id: r.dataset for r in sources if r.dataset.tag_id}
    existing = {t.tag_id: t for t in PersonTag.objects.filter(person=person)}
    for tag_id, dataset in from_datasets.items():
        if tag_id in existing:
            if existing[tag_id].region_path != person.region_path:
                existing[tag_id].region_path = person.region_path
                existing[tag_id].save(update_fields=["region_path"])
        else:
            PersonTag.objects.create(person=person, tag_id=tag_id, dataset=dataset,
                                     region_path=person.region_path)
    # A tag a dataset gave goes when no row of a dataset carrying it remains.
    stale = [t.pk for tag_id, t in existing.items()
             if t.dataset_id is not None and tag_id not in from_datasets]
    if stale:
        PersonTag.objects.filter(pk__in=stale).delete()


def refresh_persons(person_ids: Iterable[int]) -> int:
    """``refresh_person`` for each id, each in its own transaction; returns how many."""
    done = 0
    for pk in sorted(set(person_ids)):
        with transaction.atomic():
            person = Person.objects.select_for_update().filter(pk=pk).first()
            if person is not None:
                refresh_person(person)
                done += 1
    return done
